"""Index builds: load sources, chunk, embed only what changed, write atomically under a lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from .chunking import Chunk, chunk_documents
from .config import PROJECT_ROOT, Settings, get_settings
from .embeddings import SPECS, EmbeddingSpec, PackagedEmbeddings, load_embeddings
from .errors import AssistantError, IndexBuildError
from .index import (
    QUESTIONS_FILE,
    LoadedIndex,
    SourceEntry,
    build_lock,
    embed_texts,
    load_index,
    load_scope,
    make_manifest,
    recover_interrupted_swap,
    write_index,
)
from .answering.units import UNITS_VERSION, passage_units
from .scope import DEFAULT_TRAINING_FILE, ScopeCalibration, ScopeModel, calibrate, training_digest
from .scope import train as train_scope
from .source_list import default_sources
from .sources import MISSING_SOURCE, SkippedSource, SourceRequest, content_hash_of, limits_from_settings, load_sources

log = logging.getLogger(__name__)

_LISTED = 10  # names shown per line of the summary before "and N more"
OTHER_SUBJECT_HINT = (
    "this corpus does not look like the subject the scope classifier was trained for (questions about the "
    "machine-learning-engineer career, assistant/data/scope_training.jsonl): questions about it will mostly be "
    "declined as off-topic. Turn the classifier off with MLCAREER_SCOPE_PROBABILITY=0, or retrain it for your "
    "subject: set MLCAREER_SCOPE_TRAINING_FILE to a JSONL file of your own in-scope and out-of-scope questions "
    '({"text": ..., "lang": ..., "in_scope": true|false} a line) and rebuild'
)


def _names(label: str, names: list[str]) -> list[str]:
    if not names:
        return []
    shown = ", ".join(names[:_LISTED]) + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")
    return [f"  {label}: {shown}"]


@dataclass
class BuildReport:
    """What a build did, per source, and how long it took."""

    index_dir: Path
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[SkippedSource] = field(default_factory=list)
    kept: list[SkippedSource] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    reused_chunks: int = 0
    seconds: float = 0.0
    written: bool = True
    scope: ScopeCalibration | None = None

    def summary(self) -> str:
        if self.written:
            head = (
                f"index written to {self.index_dir}: {self.chunks} chunks "
                f"({self.embedded_chunks} embedded, {self.reused_chunks} reused) in {self.seconds:.1f} s"
            )
        else:
            head = f"index in {self.index_dir} already up to date: {self.chunks} chunks, nothing written ({self.seconds:.1f} s)"
        lines = [
            head,
            f"sources: {len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged, {len(self.kept)} kept from the previous index, {len(self.skipped)} skipped",
            *_names("added", self.added),
            *_names("updated", self.updated),
            *_names("removed", self.removed),
        ]
        lines += [f"  kept the previously indexed version of {s.source}: {s.reason}" for s in self.kept]
        lines += [f"  skipped {s.source}: {s.reason}" for s in self.skipped]
        if self.scope is not None:
            lines.append(f"scope guard (calibrated on this index): {self.scope.describe()}")
            if not self.scope.corpus_matches_training:
                lines.append(f"  warning: {OTHER_SUBJECT_HINT}")
        return "\n".join(lines)


def _spec(model_id: str) -> EmbeddingSpec:
    if model_id not in SPECS:
        raise IndexBuildError(f"unknown embedding model {model_id!r}: set MLCAREER_EMBEDDING_MODEL to one of {', '.join(sorted(SPECS))}")
    return SPECS[model_id]


def build_index(
    sources: Sequence[str | Path | SourceRequest] | None = None,
    index_dir: str | Path | None = None,
    full: bool = False,
    settings: Settings | None = None,
    progress: bool = True,
) -> BuildReport:
    """Build or incrementally update the index; with no sources, from the corpus folder and its sources.yaml."""
    settings = settings or get_settings()
    target = Path(index_dir or settings.index_dir).resolve()
    started = time.perf_counter()
    spec = _spec(settings.embedding_model)
    if sources:
        requests, skipped = list(sources), []
    else:
        requests, skipped = default_sources(settings)
    with build_lock(target):
        recover_interrupted_swap(target)
        documents, unreadable = load_sources(requests, limits_from_settings(settings))
        skipped += unreadable
        if not documents:
            reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped) or "no files found"
            raise IndexBuildError(
                f"nothing could be indexed ({reasons}); the existing index is unchanged: "
                f"point --source at .md, .txt, .html, .pdf or .docx files, folders or http(s) URLs"
            )
        previous = _previous_index(target, spec)
        carried, kept = _carry_over(previous, skipped)
        skipped = [s for s in skipped if s not in kept]
        chunks = _unique(chunk_documents(documents, settings.chunk_size, settings.chunk_overlap) + carried)
        reusable, headings = ({}, {}) if full or previous is None else _reusable_vectors(previous)
        todo = [c for c in chunks if reusable.get(c.id, (None,))[0] != c.embedding_text]
        new_headings = sorted({c.heading for c in chunks} - set(headings))
        log.info("%d chunks, %d to embed, %d new headings", len(chunks), len(todo), len(new_headings))

        entries = _source_entries(documents, chunks)
        if previous is not None:
            entries.update({s.source: previous.manifest.sources[s.source] for s in kept})
        chash = content_hash_of((source, entry.content_hash) for source, entry in entries.items())
        old_sources = previous.manifest.sources if previous is not None else {}
        scope_path = settings.scope_training_file or DEFAULT_TRAINING_FILE
        # The classifier is kept when it was trained with this model on this very file.
        scope_kept = (
            previous is not None
            and previous.scope.embedding_model == settings.embedding_model
            and previous.scope.training_sha256 == training_digest(scope_path)
        )
        written = full or not scope_kept or previous is None or not _same_index(previous, chunks, chash, entries, settings)
        calibration = previous.scope.calibration if previous is not None else None
        if written:
            embeddings = load_embeddings(settings.embedding_model, settings.threads) if todo or new_headings else None
            if embeddings is not None:
                fresh = embed_texts(embeddings, [c.embedding_text for c in todo], progress, desc="embedding passages")
                reusable.update((c.id, (c.embedding_text, fresh[i])) for i, c in enumerate(todo))
                fresh = embed_texts(embeddings, new_headings, progress, desc="embedding headings")
                headings.update(zip(new_headings, fresh))
            matrix = _rows([reusable[c.id][1] for c in chunks], spec.dimension)
            unit_matrix = _unit_vectors(chunks, None if full else previous, embeddings, settings, progress)
            heading_matrix = _rows([headings[c.heading] for c in chunks], spec.dimension)
            question_matrix = _question_vectors(chunks, None if full else previous, embeddings, settings, progress)
            if scope_kept and not full and previous is not None:
                scope_model, questions = previous.scope, previous.scope_question_vectors
            else:
                donated = None if full else _shipped_scope(target, spec, settings.embedding_model, training_digest(scope_path))
                if donated is not None:
                    scope_model, questions = donated
                else:
                    embedder = load_embeddings(settings.embedding_model, settings.threads)
                    scope_model, questions = train_scope(embedder, scope_path, progress)
            # The cuts depend on the passages: recalibrated on every index written.
            calibration = calibrate(scope_model, questions, matrix)
            scope_model = scope_model.model_copy(update={"calibration": calibration})
            manifest = make_manifest(chunks, spec, chash, entries, settings.chunk_size, settings.chunk_overlap)
            write_index(target, manifest, chunks, matrix, heading_matrix, scope_model, questions, unit_matrix, question_matrix)

    report = BuildReport(index_dir=target, skipped=skipped, kept=kept, chunks=len(chunks), written=written, scope=calibration)
    report.embedded_chunks = len(todo) if written else 0
    report.reused_chunks = len(chunks) - report.embedded_chunks
    kept_names = {s.source for s in kept}
    for source, entry in entries.items():
        if source in kept_names:
            continue
        old = old_sources.get(source)
        bucket = report.added if old is None else report.unchanged if old.content_hash == entry.content_hash else report.updated
        bucket.append(source)
    report.removed = sorted(set(old_sources) - set(entries))
    report.seconds = time.perf_counter() - started
    log.info("build done in %.1f s: %d chunks, %d embedded", report.seconds, report.chunks, report.embedded_chunks)
    return report


def _carry_over(previous: LoadedIndex | None, skipped: list[SkippedSource]) -> tuple[list[Chunk], list[SkippedSource]]:
    """Sources that failed to load this time but are in the previous index keep their chunks there.

    A URL down for an hour or a file caught half-written must not vanish from the index; a path
    that no longer exists is a removal, not a failure, and is dropped.
    """
    if previous is None:
        return [], []
    kept = [s for s in skipped if s.source in previous.manifest.sources and s.reason != MISSING_SOURCE]
    names = {s.source for s in kept}
    for s in kept:
        log.warning("keeping the previously indexed version of %s: %s", s.source, s.reason)
    return [c for c in previous.chunks if str(c.metadata.get("source")) in names], kept


def _question_vectors(
    chunks: list[Chunk], previous: LoadedIndex | None, embeddings: PackagedEmbeddings | None, settings: Settings, progress: bool
) -> np.ndarray | None:
    """The questions each chunk's section lists, embedded as queries, in chunk order (None: no document lists any).

    A user's question is closer to another question than to a passage (doc2query): the search scores
    each passage by its closest listed question too. Questions already embedded keep their vectors.
    """
    asked = [q for c in chunks for q in c.questions]
    if not asked:
        return None
    known: dict[str, np.ndarray] = {}
    if previous is not None:
        vectors, owner = previous.question_vectors
        listed = [q for c in previous.chunks for q in c.questions]
        if len(owner) == len(listed):
            known = dict(zip(listed, vectors))
    todo = sorted(set(asked) - set(known))
    if todo:
        embedder = embeddings or load_embeddings(settings.embedding_model, settings.threads)
        known.update(zip(todo, embed_texts(embedder, todo, progress, desc="embedding listed questions", queries=True)))
    return _rows([known[q] for q in asked], _spec(settings.embedding_model).dimension)


def _unit_vectors(
    chunks: list[Chunk], previous: LoadedIndex | None, embeddings: PackagedEmbeddings | None, settings: Settings, progress: bool
) -> np.ndarray:
    """Every chunk's quotable units embedded, in chunk order (extractive answers quote them).

    A chunk id hashes its text, so a chunk found in the previous index keeps its unit vectors.
    """
    dimension = _spec(settings.embedding_model).dimension
    kept = {chunk_id: vectors for chunk_id, (_, vectors) in previous.units.items()} if previous is not None else {}
    cut = [passage_units(c.text) for c in chunks]
    todo = [i for i, c in enumerate(chunks) if c.id not in kept]
    texts = [u.embedding_text for i in todo for u in cut[i]]
    if texts:
        embeddings = embeddings or load_embeddings(settings.embedding_model, settings.threads)
        vectors = embed_texts(embeddings, texts, progress, desc="embedding quotable units")
    else:
        vectors = np.zeros((0, dimension), dtype=np.float32)
    fresh, start = {}, 0
    for i in todo:
        fresh[chunks[i].id] = vectors[start : start + len(cut[i])]
        start += len(cut[i])
    rows = [kept[c.id] if c.id in kept else fresh[c.id] for c in chunks]
    return np.concatenate(rows).astype(np.float32) if rows else np.zeros((0, dimension), dtype=np.float32)


def _rows(vectors: list[np.ndarray], dimension: int) -> np.ndarray:
    return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dimension), dtype=np.float32)


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    """Identical text at the same place of the same source gets the same id: keep it once."""
    seen: set[str] = set()
    kept = [c for c in chunks if not (c.id in seen or seen.add(c.id))]  # type: ignore[func-returns-value]
    if len(kept) < len(chunks):
        log.info("dropped %d duplicate chunks", len(chunks) - len(kept))
    return kept


def _source_entries(documents: list[Document], chunks: list[Chunk]) -> dict[str, SourceEntry]:
    ids_by_source: dict[str, list[str]] = {}
    for c in chunks:
        ids_by_source.setdefault(str(c.metadata["source"]), []).append(c.id)
    entries: dict[str, SourceEntry] = {}
    for doc in documents:  # a PDF gives one Document per page, all with the same source metadata
        source = str(doc.metadata["source"])
        entries.setdefault(
            source,
            SourceEntry(
                content_hash=str(doc.metadata["content_hash"]),
                title=str(doc.metadata["title"]),
                lang=str(doc.metadata["lang"]),
                chunk_ids=ids_by_source.get(source, []),
            ),
        )
    return entries


def _reusable_vectors(previous: LoadedIndex) -> tuple[dict[str, tuple[str, np.ndarray]], dict[str, np.ndarray]]:
    """Old passage vectors by chunk id, with the text they embedded (a new title or section means a
    new vector), and old heading vectors by heading."""
    vectors, heading_vectors = previous.vectors, previous.heading_vectors
    passages = {c.id: (c.embedding_text, vectors[i]) for i, c in enumerate(previous.chunks)}
    headings = {c.heading: heading_vectors[i] for i, c in enumerate(previous.chunks)}
    return passages, headings


def _same_index(previous: LoadedIndex, chunks: list[Chunk], chash: str, entries: dict[str, SourceEntry], settings: Settings) -> bool:
    """True when a rebuild would write what is already there: then nothing is written and servers keep it."""
    m = previous.manifest
    return (
        m.units_version == UNITS_VERSION
        and m.corpus_hash == chash
        and (m.chunk_size, m.chunk_overlap) == (settings.chunk_size, settings.chunk_overlap)
        and m.sources == entries
        and [c.to_record() for c in previous.chunks] == [c.to_record() for c in chunks]
        and (QUESTIONS_FILE in m.files_sha256) == any(c.questions for c in chunks)
    )


SHIPPED_INDEX = PROJECT_ROOT / "index"


def _shipped_scope(
    target: Path, spec: EmbeddingSpec, model: str, training_sha256: str
) -> tuple[ScopeModel, np.ndarray] | None:
    """The shipped index's scope classifier, when it was trained on this very file with this model.

    Embedding the 1,200 training questions is most of a small build (a minute on 2 cores), and the
    result would be the same classifier: a first build of another corpus starts from it. `--full`
    trains afresh.
    """
    if target.resolve() == SHIPPED_INDEX.resolve():
        return None
    try:
        scope, questions = load_scope(SHIPPED_INDEX, spec)
    except AssistantError as exc:
        log.info("scope classifier trained afresh (shipped one not usable: %s)", exc)
        return None
    if scope.embedding_model != model or scope.training_sha256 != training_sha256:
        return None
    log.info("scope classifier reused from %s (same training file and model)", SHIPPED_INDEX)
    return scope, questions


def _previous_index(target: Path, spec: EmbeddingSpec) -> LoadedIndex | None:
    """The current index if it can be reused for incremental embedding, else None."""
    try:
        return load_index(target, spec)
    except AssistantError as exc:
        log.info("full build: previous index not reusable (%s)", exc)
        return None
