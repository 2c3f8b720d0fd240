"""The on-disk index: FAISS vectors, chunks.jsonl and manifest.json; built atomically, loaded safely.

No pickle: FAISS's own binary format, JSON lines and JSON. Loading checks the manifest
against the configured embedding model and the files' checksums before trusting anything.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel, ValidationError

from .answering.units import UNITS_VERSION, Unit, passage_units
from .chunking import Chunk
from .embeddings import EmbeddingSpec, PackagedEmbeddings, package_version
from .scope import SCOPE_FILE, ScopeModel, read_scope_model
from .errors import (
    REBUILD_HINT,
    IndexBuildError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)

log = logging.getLogger(__name__)

# 2: heading vectors in headings.index, the scope classifier in scope.json;
# 3: the scope guard calibrated per index, its training questions' vectors in scope_questions.index;
# 4: the vectors of every passage's quotable units (sentences, list items) in units.index;
#    optional questions.index (readers without it ignore it; without it, no question signal): the
#    vectors of the questions each section lists in its document's front matter, in chunk order.
FORMAT_VERSION = 4
FAISS_FILE = "faiss.index"
HEADINGS_FILE = "headings.index"
SCOPE_QUESTIONS_FILE = "scope_questions.index"
UNITS_FILE = "units.index"
QUESTIONS_FILE = "questions.index"
CHUNKS_FILE = "chunks.jsonl"
MANIFEST_FILE = "manifest.json"


class SourceEntry(BaseModel):
    """What the manifest remembers of one source, for incremental rebuilds."""

    content_hash: str
    title: str
    lang: str
    chunk_ids: list[str]


class IndexManifest(BaseModel):
    """manifest.json: what built the index, from what, and checksums of its files."""

    format_version: int
    embedding_model: str
    embedding_package: str
    embedding_package_version: str
    dimension: int
    normalized: bool
    query_prefix: str
    passage_prefix: str
    chunk_count: int
    corpus_hash: str
    built_at: str
    chunk_size: int
    chunk_overlap: int
    sources: dict[str, SourceEntry]
    files_sha256: dict[str, str]
    units_version: int = 0

    def check_model(self, spec: EmbeddingSpec, index_dir: Path) -> None:
        """Refuse an index whose vectors another model (or prefix convention) produced."""
        theirs = (self.embedding_model, self.dimension, self.query_prefix, self.passage_prefix)
        ours = (spec.id, spec.dimension, spec.query_prefix, spec.passage_prefix)
        if theirs != ours:
            raise IndexMismatchError(
                f"the index in {index_dir} was built with embedding model {self.embedding_model!r} "
                f"({self.dimension} dims), but the settings ask for {spec.id!r} ({spec.dimension} dims): "
                f"run `mlcareer index build --full` to rebuild it with {spec.id!r}, or set "
                f"MLCAREER_EMBEDDING_MODEL={self.embedding_model} to use it as it is"
            )


@dataclass
class LoadedIndex:
    """An index in memory: passage vectors, heading vectors and chunks, all in the same order.

    A chunk's heading ("title > section") is embedded on its own as well as inside the passage:
    headings are the corpus's best summaries, and matching them separately lifts the right
    section (eval/DECISIONS.md).
    """

    manifest: IndexManifest
    faiss_index: faiss.Index
    heading_index: faiss.Index
    chunks: list[Chunk]
    directory: Path
    scope: ScopeModel
    scope_questions: faiss.Index
    units_index: faiss.Index
    questions_index: faiss.Index | None = None

    @cached_property
    def units(self) -> dict[str, tuple[list[Unit], np.ndarray]]:
        """Each chunk's quotable units and their vectors, embedded at build: answers need no embedding but the query's."""
        cut = [passage_units(c.text) for c in self.chunks]
        if self.manifest.units_version != UNITS_VERSION or sum(map(len, cut)) != self.units_index.ntotal:
            log.warning("units.index of %s does not match its chunks: units will be embedded when first quoted", self.directory)
            return {}
        vectors = self.units_index.reconstruct_n(0, self.units_index.ntotal)
        out, start = {}, 0
        for chunk, units in zip(self.chunks, cut):
            out[chunk.id] = (units, vectors[start : start + len(units)])
            start += len(units)
        return out

    @cached_property
    def question_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The vectors of the questions listed for each chunk's section, and the position of their chunk."""
        owner = np.array([i for i, c in enumerate(self.chunks) for _ in c.questions], dtype=np.int64)
        none = np.zeros((0, self.manifest.dimension), dtype=np.float32), np.zeros(0, dtype=np.int64)
        if self.questions_index is None or not len(owner):
            return none
        if self.questions_index.ntotal != len(owner):
            log.warning("questions.index of %s does not match its chunks: searching without the listed questions", self.directory)
            return none
        return self.questions_index.reconstruct_n(0, self.questions_index.ntotal), owner

    @property
    def vectors(self) -> np.ndarray:
        return self.faiss_index.reconstruct_n(0, self.faiss_index.ntotal)

    @property
    def heading_vectors(self) -> np.ndarray:
        return self.heading_index.reconstruct_n(0, self.heading_index.ntotal)

    @property
    def scope_question_vectors(self) -> np.ndarray:
        """The scope classifier's training questions, embedded: a corpus change recalibrates with them."""
        return self.scope_questions.reconstruct_n(0, self.scope_questions.ntotal)


def _sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_manifest(index_dir: Path) -> IndexManifest:
    path = index_dir / MANIFEST_FILE
    if not path.exists():
        raise IndexNotFoundError(
            f"no index in {index_dir} (missing {MANIFEST_FILE}): run `mlcareer index build` to create it"
        )
    try:
        manifest = IndexManifest.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError, OSError) as exc:
        raise IndexCorruptError(f"{path} is unreadable or malformed ({exc.__class__.__name__}): {REBUILD_HINT}") from exc
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"the index in {index_dir} has format version {manifest.format_version}, this version "
            f"reads {FORMAT_VERSION}: {REBUILD_HINT}"
        )
    return manifest


def load_scope(index_dir: Path, spec: EmbeddingSpec) -> tuple[ScopeModel, np.ndarray]:
    """Only the scope classifier of an index and its training questions' vectors, checksums verified.

    A new index trained on the same file with the same model can start from these instead of
    embedding the questions again (the shipped index's, for a first build elsewhere).
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    manifest.check_model(spec, index_dir)
    for name in (SCOPE_FILE, SCOPE_QUESTIONS_FILE):
        path = index_dir / name
        if not path.exists() or _sha256_file(path) != manifest.files_sha256.get(name):
            raise IndexCorruptError(f"{path} is missing or damaged (checksum mismatch): {REBUILD_HINT}")
    try:
        scope = read_scope_model(index_dir / SCOPE_FILE)
        questions = faiss.read_index(str(index_dir / SCOPE_QUESTIONS_FILE))
    except (RuntimeError, ValueError, OSError) as exc:
        raise IndexCorruptError(f"the scope files in {index_dir} cannot be read ({exc}): {REBUILD_HINT}") from exc
    if questions.ntotal != len(scope.labels) or questions.d != manifest.dimension:
        raise IndexCorruptError(f"the scope classifier in {index_dir} does not match its training questions: {REBUILD_HINT}")
    return scope, questions.reconstruct_n(0, questions.ntotal)


def load_index(index_dir: Path, spec: EmbeddingSpec) -> LoadedIndex:
    """Load and verify an index; every failure is a typed error that names the fix."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    manifest.check_model(spec, index_dir)
    for name, expected in manifest.files_sha256.items():
        path = index_dir / name
        if not path.exists() or _sha256_file(path) != expected:
            raise IndexCorruptError(f"{path} is missing or damaged (checksum mismatch): {REBUILD_HINT}")
    try:
        faiss_index = faiss.read_index(str(index_dir / FAISS_FILE))
        heading_index = faiss.read_index(str(index_dir / HEADINGS_FILE))
        scope_questions = faiss.read_index(str(index_dir / SCOPE_QUESTIONS_FILE))
        units_index = faiss.read_index(str(index_dir / UNITS_FILE))
        questions_index = faiss.read_index(str(index_dir / QUESTIONS_FILE)) if QUESTIONS_FILE in manifest.files_sha256 else None
        scope = read_scope_model(index_dir / SCOPE_FILE)
        chunks = [
            Chunk(record["id"], record["text"], record["metadata"])
            for record in map(json.loads, (index_dir / CHUNKS_FILE).read_text("utf-8").splitlines())
        ]
    except (RuntimeError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IndexCorruptError(f"the index in {index_dir} cannot be read ({exc}): {REBUILD_HINT}") from exc
    counts = {faiss_index.ntotal, heading_index.ntotal, len(chunks), manifest.chunk_count}
    if len(counts) != 1:
        raise IndexCorruptError(
            f"the index in {index_dir} is inconsistent ({faiss_index.ntotal} vectors, {heading_index.ntotal} "
            f"heading vectors, {len(chunks)} chunks, manifest says {manifest.chunk_count}): {REBUILD_HINT}"
        )
    if {faiss_index.d, heading_index.d} != {manifest.dimension}:
        raise IndexCorruptError(f"the vectors in {index_dir} do not have {manifest.dimension} dims: {REBUILD_HINT}")
    if (
        scope.embedding_model != manifest.embedding_model
        or len(scope.coef) != manifest.dimension
        or scope_questions.ntotal != len(scope.labels)
        or scope.calibration is None
    ):
        raise IndexCorruptError(f"the scope classifier in {index_dir} does not match its embedding model or training questions: {REBUILD_HINT}")
    return LoadedIndex(manifest, faiss_index, heading_index, chunks, index_dir, scope, scope_questions, units_index, questions_index)


def make_manifest(
    chunks: list[Chunk],
    spec: EmbeddingSpec,
    corpus_hash: str,
    sources: dict[str, SourceEntry],
    chunk_size: int,
    chunk_overlap: int,
) -> IndexManifest:
    return IndexManifest(
        format_version=FORMAT_VERSION,
        embedding_model=spec.id,
        embedding_package=spec.package,
        embedding_package_version=package_version(spec.package),
        dimension=spec.dimension,
        normalized=spec.normalized,
        query_prefix=spec.query_prefix,
        passage_prefix=spec.passage_prefix,
        chunk_count=len(chunks),
        corpus_hash=corpus_hash,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        sources=sources,
        files_sha256={},
        units_version=UNITS_VERSION,
    )


def write_index(
    index_dir: Path,
    manifest: IndexManifest,
    chunks: list[Chunk],
    vectors: np.ndarray,
    heading_vectors: np.ndarray,
    scope: ScopeModel,
    scope_question_vectors: np.ndarray,
    unit_vectors: np.ndarray,
    question_vectors: np.ndarray | None = None,
) -> None:
    """Write into a fresh sibling folder, then swap it in, so readers never see half an index."""
    index_dir = Path(index_dir).resolve()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{index_dir.name}.build-", dir=index_dir.parent))
    try:
        matrices = (
            (FAISS_FILE, vectors),
            (HEADINGS_FILE, heading_vectors),
            (SCOPE_QUESTIONS_FILE, scope_question_vectors),
            (UNITS_FILE, unit_vectors),
        ) + (((QUESTIONS_FILE, question_vectors),) if question_vectors is not None else ())
        for name, matrix in matrices:
            flat = faiss.IndexFlatIP(manifest.dimension)
            if len(matrix):
                flat.add(np.ascontiguousarray(matrix, dtype=np.float32))
            faiss.write_index(flat, str(staging / name))
        (staging / SCOPE_FILE).write_text(scope.model_dump_json() + "\n", "utf-8")
        with (staging / CHUNKS_FILE).open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(json.dumps(chunk.to_record(), ensure_ascii=False, sort_keys=True) + "\n")
        manifest = manifest.model_copy(
            update={"files_sha256": {name: _sha256_file(staging / name) for name in (*(m[0] for m in matrices), SCOPE_FILE, CHUNKS_FILE)}}
        )
        # The manifest goes last: a folder without one is never taken for an index.
        (staging / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2) + "\n", "utf-8")
        for path in staging.iterdir():
            _fsync(path)
        _swap_in(staging, index_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise IndexBuildError(f"could not write the index to {index_dir}: {exc}") from exc


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _swap_in(staging: Path, index_dir: Path) -> None:
    # POSIX cannot rename a folder over a non-empty one, so the old index steps aside first;
    # `recover_interrupted_swap` finishes the job if we die between the two renames.
    previous = index_dir.with_name(index_dir.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if index_dir.exists():
        os.replace(index_dir, previous)
    os.replace(staging, index_dir)
    shutil.rmtree(previous, ignore_errors=True)


def recover_interrupted_swap(index_dir: Path) -> None:
    """If a build died mid-swap, put the previous index back; drop its staging folders.

    Call it holding `build_lock` (or through `recover_unless_building`): staging folders are only
    made under the lock, so any found then belong to a build that died.
    """
    index_dir = Path(index_dir).resolve()
    previous = index_dir.with_name(index_dir.name + ".previous")
    if not (index_dir / MANIFEST_FILE).exists() and (previous / MANIFEST_FILE).exists():
        log.warning("restoring %s from an interrupted rebuild", index_dir)
        if index_dir.exists():
            shutil.rmtree(index_dir)
        os.replace(previous, index_dir)
    elif previous.exists():  # died after the swap, while deleting the old index
        log.info("removing %s left by an interrupted rebuild", previous)
        shutil.rmtree(previous, ignore_errors=True)
    for stale in index_dir.parent.glob(f"{index_dir.name}.build-*"):
        log.info("removing %s left by an interrupted build", stale)
        shutil.rmtree(stale, ignore_errors=True)


def recover_unless_building(index_dir: Path) -> None:
    """Recover an interrupted swap, unless a build is running now (its swap is not interrupted)."""
    try:
        with build_lock(index_dir):
            recover_interrupted_swap(index_dir)
    except IndexLockedError:
        log.info("a build is writing %s; serving what is there", index_dir)
    except OSError as exc:  # a read-only deployment cannot take the lock, and has nothing to recover
        log.debug("no recovery check for %s: %s", index_dir, exc)


def index_signature(index_dir: Path) -> tuple[int, int, int] | None:
    """Identity of the manifest file on disk (inode, mtime, size): a swapped-in build changes it."""
    try:
        st = (Path(index_dir) / MANIFEST_FILE).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """An exclusive lock next to the index, released by the OS even if the build is killed."""
    index_dir = Path(index_dir).resolve()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir.with_name(index_dir.name + ".lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IndexLockedError(
                f"another build is writing {index_dir} (lock {lock_path}); wait for it to finish"
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def embed_texts(
    embeddings: PackagedEmbeddings,
    texts: list[str],
    progress: bool = True,
    batch_size: int = 16,
    desc: str = "embedding",
    queries: bool = False,
) -> np.ndarray:
    """Embed passages (or, with `queries`, questions) in batches behind a progress bar (builds take a while)."""
    from tqdm import tqdm

    out = np.zeros((len(texts), embeddings.spec.dimension), dtype=np.float32)
    with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress) as bar:
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            out[start : start + len(batch)] = embeddings.embed_queries(batch) if queries else embeddings.embed_passages(batch)
            bar.update(len(batch))
    return out
