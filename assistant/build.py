"""Index builds: load sources, chunk, embed only what changed, write atomically under a lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunking import chunk_documents
from .config import Settings, get_settings
from .embeddings import load_embeddings
from .errors import AssistantError, IndexBuildError
from .index import (
    SourceEntry,
    build_lock,
    embed_chunks,
    load_index,
    make_manifest,
    recover_interrupted_swap,
    write_index,
)
from .sources import SkippedSource, corpus_hash, load_sources

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    """What a build did, per source, and how long it took."""

    index_dir: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedSource] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    reused_chunks: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"index written to {self.index_dir}: {self.chunks} chunks "
            f"({self.embedded_chunks} embedded, {self.reused_chunks} reused) in {self.seconds:.1f} s",
            f"sources: {len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped",
        ]
        lines += [f"  skipped {s.source}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def build_index(
    sources: Sequence[str | Path] | None = None,
    index_dir: str | Path | None = None,
    full: bool = False,
    settings: Settings | None = None,
    progress: bool = True,
) -> BuildReport:
    """Build or incrementally update the index; with no sources, from the corpus folder."""
    settings = settings or get_settings()
    target = Path(index_dir or settings.index_dir).resolve()
    started = time.perf_counter()
    paths = [Path(s) for s in sources] if sources else [settings.corpus_dir]
    with build_lock(target):
        recover_interrupted_swap(target)
        documents, skipped = load_sources(paths)
        if not documents:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped) or "no files found"
            raise IndexBuildError(f"nothing could be indexed ({reasons}); the existing index is unchanged")
        embeddings = load_embeddings(settings.embedding_model, settings.threads)
        chunks = chunk_documents(documents, settings.chunk_size, settings.chunk_overlap)
        previous = None if full else _previous_index(target, embeddings.spec)
        old_vectors: dict[str, np.ndarray] = {}
        old_sources: dict[str, SourceEntry] = {}
        if previous is not None:
            old_sources = previous.manifest.sources
            vectors = previous.vectors
            old_vectors = {c.id: vectors[i] for i, c in enumerate(previous.chunks)}

        todo = [c for c in chunks if c.id not in old_vectors]
        log.info("%d chunks, %d to embed", len(chunks), len(todo))
        fresh = embed_chunks(embeddings, todo, progress=progress)
        fresh_by_id = {c.id: fresh[i] for i, c in enumerate(todo)}
        matrix = np.stack([fresh_by_id.get(c.id, old_vectors.get(c.id)) for c in chunks]).astype(np.float32)

        entries: dict[str, SourceEntry] = {}
        for doc in documents:
            source = str(doc.metadata["source"])
            entries[source] = SourceEntry(
                content_hash=str(doc.metadata["content_hash"]),
                title=str(doc.metadata["title"]),
                lang=str(doc.metadata["lang"]),
                chunk_ids=[c.id for c in chunks if c.metadata["source"] == source],
            )
        manifest = make_manifest(
            chunks, embeddings.spec, corpus_hash(documents), entries, settings.chunk_size, settings.chunk_overlap
        )
        write_index(target, manifest, chunks, matrix)

    report = BuildReport(index_dir=target, skipped=skipped, chunks=len(chunks))
    report.embedded_chunks, report.reused_chunks = len(todo), len(chunks) - len(todo)
    for source, entry in entries.items():
        old = old_sources.get(source)
        bucket = report.added if old is None else report.unchanged if old.content_hash == entry.content_hash else report.updated
        bucket.append(source)
    report.removed = sorted(set(old_sources) - set(entries))
    report.seconds = time.perf_counter() - started
    log.info("%s", report.summary())
    return report


def _previous_index(target: Path, spec):  # noqa: ANN001, ANN202
    """The current index if it can be reused for incremental embedding, else None."""
    try:
        return load_index(target, spec)
    except AssistantError as exc:
        log.info("full build: previous index not reusable (%s)", exc)
        return None
