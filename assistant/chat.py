"""The pipeline: condense -> retrieve -> scope guard -> generate, behind the `Assistant` API."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from collections.abc import Iterator, Sequence
from pathlib import Path

from .answer_guard import UnsupportedAnswerError
from .chunking import Chunk
from .config import Settings, get_settings
from .conversation import condense_question, validate_history, validate_question
from .documents import CorpusDocument, documents_from_chunks
from .embeddings import load_embeddings
from .hot_reload import IndexWatcher
from .index import IndexManifest, load_index, recover_unless_building
from .language import detect_language
from .errors import AssistantError
from .llm import AnswerBackend, ExtractiveBackend, GenerationRequest, make_backend
from .prompts import FALLBACK_NOTICE, NOT_COVERED, UNSUPPORTED_REASON, WRONG_LANGUAGE_NOTICE
from .retrieval import FusionWeights, HybridRetriever, HybridSearcher, ScoredChunk, set_faiss_threads
from .schema import Answer, AnswerEvent, Source

log = logging.getLogger(__name__)


def to_source(hit: ScoredChunk, n: int) -> Source:
    meta = hit.chunk.metadata
    # Only a source fetched from the web has an original to link to; a curated document's
    # references are many and none of them is "the original" of the passage.
    url = meta.get("url")
    return Source(
        n=n,
        id=hit.chunk.id,
        text=hit.chunk.text,
        score=round(hit.similarity, 4),
        title=hit.chunk.title,
        section=hit.chunk.section,
        source=str(meta.get("source", "")),
        lang=str(meta.get("lang", "")),
        url=str(url) if url else None,
    )


@dataclass
class _Outcome:
    """Which backend really answered, and why another did not."""

    backend: str
    notice: str | None = None


def _answer_language(text: str) -> str | None:
    body = re.sub(r"\[\d+\]", "", text)
    return detect_language(body) if len(body.split()) >= 8 else None


class Assistant:
    """The ML-career assistant: load once, then `ask`, `stream` and `search` from any thread."""

    def __init__(
        self,
        index_dir: str | Path | None = None,
        llm: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        base = settings or get_settings()
        self.settings = base.model_copy(
            update={k: v for k, v in {"index_dir": Path(index_dir) if index_dir else None, "llm": llm}.items() if v}
        )
        set_faiss_threads(self.settings.threads)
        self.embeddings = load_embeddings(self.settings.embedding_model, self.settings.threads)
        self._warm_up: threading.Thread | None = None
        self._documents: tuple[list[Chunk], list[CorpusDocument]] | None = None
        recover_unless_building(self.settings.index_dir)
        self._watcher = IndexWatcher(self.settings.index_dir, self._load_searcher, self.settings.index_reload_interval)
        # Extractive is always there: it answers when the chosen backend is missing or fails.
        self.fallback = ExtractiveBackend(self.embeddings, self.settings.answer_sentences)
        self.backend_error: str | None = None
        try:
            self.backend: AnswerBackend = make_backend(self.settings.llm, self.settings, self.embeddings)
        except AssistantError as exc:
            log.error("backend %r unavailable, answering extractively: %s", self.settings.llm, exc)
            self.backend, self.backend_error = self.fallback, str(exc)

    def _load_searcher(self) -> HybridSearcher:
        index = load_index(self.settings.index_dir, self.embeddings.spec)
        log.info("index loaded: %d chunks from %s", len(index.chunks), index.directory)
        s = self.settings
        weights = FusionWeights(s.heading_weight, s.keyword_weight, s.language_bonus, s.intro_penalty)
        return HybridSearcher(index, self.embeddings, s.candidates, weights)

    @property
    def _searcher(self) -> HybridSearcher:
        """The searcher over the newest verified index: a rebuilt index is served without a restart."""
        return self._watcher.current()

    def reload_index(self) -> bool:
        """Serve the index on disk now if it changed (servers also check every index_reload_interval s)."""
        return self._watcher.reload()

    @property
    def index_reload_error(self) -> str | None:
        """Why the index on disk could not be served, while the previous one still is (None: all well)."""
        return self._watcher.last_error

    @property
    def manifest(self) -> IndexManifest:
        return self._searcher.index.manifest

    @property
    def chunks(self) -> list[Chunk]:
        return self._searcher.index.chunks

    def documents(self) -> list[CorpusDocument]:
        """The served index's documents, whole (rebuilt once per index from its chunks)."""
        chunks = self.chunks
        cached = self._documents
        if cached is None or cached[0] is not chunks:
            cached = self._documents = (chunks, documents_from_chunks(chunks))
        return cached[1]

    def document_for(self, source: str) -> CorpusDocument | None:
        return next((d for d in self.documents() if d.source == source), None)

    def warm_up_in_background(self) -> threading.Thread | None:
        """Let the extractive backend pre-embed every passage's sentences while the server already serves."""
        warm = getattr(self.backend, "warm_up", None)
        if warm is None:
            return None
        passages = [to_source(ScoredChunk(c, 0.0, 0.0), 0) for c in self.chunks]
        thread = threading.Thread(target=warm, args=(passages,), name="warm-up", daemon=True)
        thread.start()
        self._warm_up = thread
        return thread

    @property
    def warming_up(self) -> bool:
        return self._warm_up is not None and self._warm_up.is_alive()

    def retriever(self, k: int | None = None) -> HybridRetriever:
        """The hybrid search as a LangChain retriever."""
        return HybridRetriever(searcher=self._searcher, k=k or self.settings.top_k)

    @property
    def backend_names(self) -> list[str]:
        """Backends a request may pick (`stream_events(backend=...)`): the configured one, and extractive."""
        return list(dict.fromkeys([self.backend.name, self.fallback.name]))

    def _generate(self, request: GenerationRequest, outcome: _Outcome, backend: str | None = None) -> Iterator[str]:
        """The chosen backend's answer; on failure or time-out, the extractive one with a notice."""
        language = request.language
        if backend == self.fallback.name and self.backend.name != self.fallback.name:
            outcome.backend = self.fallback.name  # asked for, so no notice
            yield from self.fallback.stream(request)
            return
        if self.backend_error is not None:
            outcome.backend, outcome.notice = self.fallback.name, FALLBACK_NOTICE[language].format(reason=self.backend_error)
            yield outcome.notice + "\n\n"
            yield from self.fallback.stream(request)
            return
        outcome.backend = self.backend.name
        produced = False
        try:
            for piece in self.backend.stream(request):
                produced = True
                yield piece
        except Exception as exc:  # noqa: BLE001 - any backend failure must end in an answer, not a trace
            log.warning("backend %s failed (%s: %s); answering extractively", self.backend.name, type(exc).__name__, exc)
            if isinstance(exc, UnsupportedAnswerError):
                reason = UNSUPPORTED_REASON[language]
            else:
                reason = "timeout" if "timeout" in type(exc).__name__.lower() else type(exc).__name__
            outcome.backend, outcome.notice = self.fallback.name, FALLBACK_NOTICE[language].format(reason=reason)
            yield ("\n\n" if produced else "") + outcome.notice + "\n\n"
            yield from self.fallback.stream(request)

    def scope_cuts(self, searcher: HybridSearcher | None = None) -> tuple[float, float]:
        """(similarity, probability) cuts: the settings' when given, else the ones calibrated for the index."""
        calibration = (searcher or self._searcher).index.scope.calibration
        assert calibration is not None  # load_index refuses an index without one
        s = self.settings
        return (
            calibration.similarity_threshold if s.scope_threshold is None else s.scope_threshold,
            calibration.probability_threshold if s.scope_probability is None else s.scope_probability,
        )

    def _in_scope(self, searcher: HybridSearcher, queries: list[str]) -> bool:
        """Two signals must agree: a passage close enough, and the classifier's "this is about ML careers"."""
        similarity_cut, probability_cut = self.scope_cuts(searcher)
        if searcher.best_similarity(queries) < similarity_cut:
            return False
        if not probability_cut:
            return True
        probability = searcher.scope_probability(queries[0])
        log.debug("scope probability %.3f for %r", probability, queries[0][:80])
        return probability >= probability_cut

    def search(self, query: str, k: int = 5) -> list[Source]:
        query = validate_question(query, self.settings.max_question_chars)
        hits = self._searcher.search(query, k, language=detect_language(query))
        return [to_source(hit, n) for n, hit in enumerate(hits, start=1)]

    def ask(self, question: str, history: Sequence[tuple[str, str]] | None = None) -> Answer:
        answer = None
        for event in self.stream_events(question, history):
            if event.kind == "done":
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str, history: Sequence[tuple[str, str]] | None = None) -> Iterator[str]:
        """Text pieces of the answer as they are produced."""
        for event in self.stream_events(question, history):
            if event.kind == "delta":
                yield event.delta

    def stream_events(
        self,
        question: str,
        history: Sequence[tuple[str, str]] | None = None,
        k: int | None = None,
        backend: str | None = None,
    ) -> Iterator[AnswerEvent]:
        """Sources as soon as retrieval is done, then text deltas, then the complete Answer."""
        if backend is not None and backend not in self.backend_names:
            raise ValueError(f"unknown answer backend {backend!r}; choose one of: {', '.join(self.backend_names)}")
        question = validate_question(question, self.settings.max_question_chars)
        turns = validate_history(history, self.settings.max_history_turns)
        previous = next((text for role, text in reversed(turns) if role == "user"), None)
        language = detect_language(question, default=detect_language(previous) if previous else "en")
        query = condense_question(question, turns)
        searcher = self._searcher
        # A follow-up is searched both as it was typed and with the previous question in front:
        # their scores are averaged, so the new subject ("and for MLOps?") is not drowned by the old.
        queries = [query] if query == question else [query, question]
        hits = searcher.search(queries, k or self.settings.top_k, language=language)
        in_scope = bool(hits) and self._in_scope(searcher, queries)
        sources = [to_source(hit, n) for n, hit in enumerate(hits, start=1)] if in_scope else []
        yield AnswerEvent(kind="sources", sources=sources)

        outcome = _Outcome(backend="scope-guard")
        if not in_scope:
            pieces: Iterator[str] = iter([NOT_COVERED[language]])
        else:
            request = GenerationRequest(question=question, language=language, passages=sources, history=turns)
            pieces = self._generate(request, outcome, backend)
        text = ""
        for piece in pieces:
            text += piece
            yield AnswerEvent(kind="delta", delta=piece)
        if outcome.backend not in ("scope-guard", self.fallback.name) and _answer_language(text) not in (None, language):
            outcome.notice = WRONG_LANGUAGE_NOTICE[language]
        answer = Answer(
            question=question,
            text=text.strip(),
            language=language,
            in_scope=in_scope,
            covered=in_scope,
            sources=sources,
            backend=outcome.backend,
            query=query,
            notice=outcome.notice,
        )
        yield AnswerEvent(kind="done", answer=answer)
