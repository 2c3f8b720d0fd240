"""The pipeline: condense -> retrieve -> scope guard -> generate, behind the `Assistant` API."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from collections.abc import Iterator, Sequence
from pathlib import Path

from .answering.guard import UnsupportedAnswerError
from .chunking import Chunk
from .config import Settings, get_settings
from .conversation import (
    condense_question,
    previous_question,
    question_language,
    search_weights,
    validate_history,
    validate_question,
    with_previous,
)
from .documents import CorpusDocument, documents_from_chunks
from .embeddings import load_embeddings
from .hot_reload import IndexWatcher
from .index import IndexManifest, load_index, recover_unless_building
from .language import Lang, detect_language, foreign_language
from .errors import AssistantError
from .answering.backends import (
    AnswerBackend,
    BackendUnavailableError,
    ExtractiveBackend,
    GenerationRequest,
    PassagesDoNotAnswerError,
    WrittenPartFailed,
    make_backend,
)
from .answering.gate import BusyError, RequestCancelled, Waiting
from .answering.answerability import missing_terms, unanswered, unmentioned_terms
from .answering.prompts import (
    BUSY_NOTICE,
    FALLBACK_NOTICE,
    LOADING_NOTICE,
    NEAREST,
    NOT_ANSWERED,
    NOT_COVERED,
    NOT_IN_SOURCES,
    PARTLY_IN_SOURCES,
    UNSUPPORTED_REASON,
    WRONG_LANGUAGE_NOTICE,
    join_terms,
    other_language,
)
from .retrieval import FusionWeights, HybridRetriever, HybridSearcher, ScoredChunk, set_faiss_threads
from .scope import FOLLOW_UP_MARGIN, UNMARKED_FOLLOW_UP_MARGIN
from .schema import Answer, AnswerEvent, AnswerStatus, QueueStatus, Role, Source

log = logging.getLogger(__name__)


def to_source(hit: ScoredChunk, n: int, text: str | None = None, chunk_ids: list[str] | None = None) -> Source:
    meta = hit.chunk.metadata
    # Only a source fetched from the web has an original to link to; a curated document's
    # references are many and none of them is "the original" of the passage.
    url = meta.get("url")
    return Source(
        n=n,
        id=hit.chunk.id,
        text=hit.chunk.text if text is None else text,
        score=round(hit.similarity, 4),
        title=hit.chunk.title,
        section=hit.chunk.section,
        source=str(meta.get("source", "")),
        lang=str(meta.get("lang", "")),
        url=str(url) if url else None,
        relevance=hit.score,
        chunk_ids=chunk_ids if chunk_ids and len(chunk_ids) > 1 else [],
    )


@dataclass
class _Outcome:
    """Which backend really answered, why another did not, and whether the passages answered at all."""

    backend: str
    notice: str | None = None
    status: AnswerStatus = "answered"


def _reason(exc: BaseException) -> str:
    cause = exc.cause if isinstance(exc, WrittenPartFailed) else exc
    return "timeout" if "timeout" in type(cause).__name__.lower() else type(cause).__name__


def _answer_language(text: str) -> str | None:
    body = re.sub(r"\[\d+\]", "", text)
    return detect_language(body) if len(body.split()) >= 8 else None


def _queries(question: str, turns: Sequence[tuple[Role, str]]) -> list[str]:
    """What to search for: the standalone query first, then (a follow-up) the question as typed.

    A follow-up is searched both with the previous question in front and as it was typed: their
    scores are averaged, so the new subject ("and for MLOps?") is not drowned by the old; one that
    points back ("which one first?") weighs less as typed (`conversation.search_weights`).
    """
    query = condense_question(question, turns)
    return [query] if query == question else [query, question]


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
        self.fallback = ExtractiveBackend(self.embeddings, self.settings.answer_units)
        # Quotable units come embedded with the index (the one served now, after any hot reload).
        self.fallback.units.precomputed = lambda: self._searcher.index.units
        self.backend_error: str | None = None
        try:
            self.backend: AnswerBackend = make_backend(self.settings.llm, self.settings, self.embeddings, self.fallback)
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
        """Let the extractive backend cut and embed every passage while the server already serves."""
        passages = [to_source(ScoredChunk(c, 0.0, 0.0), 0) for c in self.chunks]
        # Every backend quotes or focuses through the extractive one: its cache is the one to fill.
        thread = threading.Thread(target=self.fallback.warm_up, args=(passages,), name="warm-up", daemon=True)
        thread.start()
        self._warm_up = thread
        return thread

    @property
    def warming_up(self) -> bool:
        return self._warm_up is not None and self._warm_up.is_alive()

    def retriever(self, k: int | None = None) -> HybridRetriever:
        """The hybrid search as a LangChain retriever."""
        return HybridRetriever(searcher=self._searcher, k=k or self.settings.top_k)

    def model_status(self) -> dict[str, object]:
        """The generating model's state (loading, ready, restarting, failed) and its queue, for /healthz."""
        model = getattr(self.backend, "model", None)
        gate = getattr(self.backend, "gate", None)
        status: dict[str, object] = {}
        if model is not None:
            status.update(model_state=model.state, model_restarts=model.restarts, model_error=model.error)
        if gate is not None:
            status.update(queue_length=gate.queue_length, answers_in_progress=gate.busy, slots=gate.slots)
        return status

    @property
    def backend_names(self) -> list[str]:
        """Backends a request may pick (`stream_events(backend=...)`): the configured one, and extractive."""
        return list(dict.fromkeys([self.backend.name, self.fallback.name]))

    def _generate(self, request: GenerationRequest, outcome: _Outcome, backend: str | None = None) -> Iterator[str | Waiting]:
        """The chosen backend's answer; on failure, time-out or a busy model, the extractive one with a notice."""
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
                if isinstance(piece, str):
                    produced = produced or bool(piece.strip())
                yield piece
        except RequestCancelled:
            return  # nobody is reading any more
        except PassagesDoNotAnswerError:
            # The model read the passages and found no answer in them: said plainly, never quoted around.
            outcome.status = "not_covered"
            yield self._not_covered(request, NOT_ANSWERED[language])[0]
        except (WrittenPartFailed, BusyError, BackendUnavailableError) as exc:
            # The model is busy, loading or failed after the key points: what is shown stays, with a notice.
            notice = BUSY_NOTICE if isinstance(exc, BusyError) else LOADING_NOTICE if isinstance(exc, BackendUnavailableError) else None
            reason = str(exc.cause) if isinstance(exc, WrittenPartFailed) else str(exc)
            outcome.notice = notice[language] if notice else FALLBACK_NOTICE[language].format(reason=_reason(exc))
            log.info("answered without the written part (%s)", reason)
            outcome.backend = self.fallback.name  # what the user got is the quoted passages
            if produced:
                yield "\n\n" + outcome.notice
            else:
                yield outcome.notice + "\n\n"
                yield from self.fallback.stream(request)
        except Exception as exc:  # noqa: BLE001 - any backend failure must end in an answer, not a trace
            log.warning("backend %s failed (%s: %s); answering extractively", self.backend.name, type(exc).__name__, exc)
            reason = UNSUPPORTED_REASON[language] if isinstance(exc, UnsupportedAnswerError) else _reason(exc)
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

    def _passes_guard(self, searcher: HybridSearcher, queries: list[str]) -> bool:
        """Two signals must agree: a passage close enough, and the classifier's "this is about ML careers"."""
        similarity_cut, probability_cut = self.scope_cuts(searcher)
        if searcher.best_similarity(queries) < similarity_cut:
            return False
        if not probability_cut:
            return True
        probability = searcher.scope_probability(queries[0])
        log.debug("scope probability %.3f for %r", probability, queries[0][:80])
        return probability >= probability_cut

    def _in_scope(self, searcher: HybridSearcher, question: str, queries: list[str], turns: Sequence[tuple[Role, str]]) -> bool:
        """The guard on the question as typed; a follow-up that fails it is read in its conversation.

        In context, the previous question in front must pass the guard, and the follow-up itself must
        sit closer to on-topic training questions than to off-topic ones: "what daily rate should I
        charge in Germany?" after a freelancing question is answered, "tell me a joke" is not. A
        follow-up the condensing rule recognised (`queries` holds the condensed query first) gets
        the lower cut.
        """
        if self._passes_guard(searcher, [question]):
            return True
        previous = previous_question(turns)
        if previous is None:
            return False
        marked = queries[0] != question
        in_context = queries[0] if marked else with_previous(question, previous)
        if not self._passes_guard(searcher, [in_context, question]):
            return False
        if not self.scope_cuts(searcher)[1]:
            return True  # the classifier is off (another corpus): its training questions say nothing here
        cut = FOLLOW_UP_MARGIN if marked else UNMARKED_FOLLOW_UP_MARGIN
        return searcher.scope_margin(question) >= cut

    def search(self, query: str, k: int = 5, history: Sequence[tuple[str, str]] | None = None) -> list[Source]:
        """The passages an answer to `query` would be built from; with `history`, searched as a follow-up is."""
        query = validate_question(query, self.settings.max_question_chars)
        turns = validate_history(history, self.settings.max_history_turns)
        return self._sources(self._searcher, _queries(query, turns), k, question_language(query, turns))

    def _sources(self, searcher: HybridSearcher, queries: list[str], k: int, language: str) -> list[Source]:
        """The numbered passages for these queries: one per section, widened to the rest of it."""
        wide = self.settings.passage_chars > 0
        hits = searcher.search(queries, k, language=language, one_per_section=wide, weights=search_weights(queries))
        if not wide:
            return [to_source(hit, n) for n, hit in enumerate(hits, start=1)]
        return [
            to_source(hit, n, *searcher.section_text(hit.chunk, self.settings.passage_chars))
            for n, hit in enumerate(hits, start=1)
        ]

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
        cancel: threading.Event | None = None,
    ) -> Iterator[AnswerEvent]:
        """Sources as soon as retrieval is done, then text deltas (and the place in line while the model is busy),
        then the complete Answer. Setting `cancel` stops the answer and frees the model."""
        if backend is not None and backend not in self.backend_names:
            raise ValueError(f"unknown answer backend {backend!r}; choose one of: {', '.join(self.backend_names)}")
        question = validate_question(question, self.settings.max_question_chars)
        turns = validate_history(history, self.settings.max_history_turns)
        language = question_language(question, turns)
        foreign = foreign_language(question)
        if foreign is not None:
            yield AnswerEvent(kind="sources", sources=[])
            yield from self._finish(question, language, other_language(foreign), [], "unsupported_language", "language-guard", question)
            return
        queries = _queries(question, turns)
        query = queries[0]
        searcher = self._searcher
        sources = self._sources(searcher, queries, k or self.settings.top_k, language)
        if not (sources and self._in_scope(searcher, question, queries, turns)):
            yield AnswerEvent(kind="sources", sources=[])
            yield from self._finish(question, language, NOT_COVERED[language], [], "out_of_scope", "scope-guard", query)
            return
        request = GenerationRequest(
            question=question, language=language, passages=sources, history=turns, query=query, cancel=cancel
        )
        gap = self._gap(question, queries, searcher, language)
        if gap is not None:
            text, cited = self._not_covered(request, gap)
            yield AnswerEvent(kind="sources", sources=cited)
            yield from self._finish(question, language, text, cited, "not_covered", "answerability", query)
            return
        yield AnswerEvent(kind="sources", sources=sources)
        outcome = _Outcome(backend="scope-guard")
        text = ""
        unmentioned = unmentioned_terms(question, (f"{s.title} {s.section} {s.text}" for s in sources))
        if unmentioned:  # the corpus has them, these passages don't: say so before answering from them
            text = PARTLY_IN_SOURCES[language].format(terms=join_terms(unmentioned, language)) + "\n\n"
            yield AnswerEvent(kind="delta", delta=text)
        for piece in self._generate(request, outcome, backend):
            if isinstance(piece, Waiting):
                yield AnswerEvent(kind="status", waiting=QueueStatus(position=piece.position, expected_seconds=piece.expected_seconds))
                continue
            text += piece
            yield AnswerEvent(kind="delta", delta=piece)
        if outcome.backend != self.fallback.name and _answer_language(text) not in (None, language):
            outcome.notice = WRONG_LANGUAGE_NOTICE[language]
        yield AnswerEvent(
            kind="done",
            answer=Answer(
                question=question,
                text=text.strip(),
                language=language,
                in_scope=True,
                status=outcome.status,
                sources=sources,
                backend=outcome.backend,
                query=query,
                notice=outcome.notice,
                unmentioned=unmentioned,
            ),
        )

    def _gap(self, question: str, queries: list[str], searcher: HybridSearcher, language: Lang) -> str | None:
        """What to say when the corpus does not answer the question (None when it may): the names no
        document mentions, or, when no section lists a question near it (a visa's delay, a contract
        clause), plainly that the sources do not answer it."""
        missing = missing_terms(question, searcher.vocabulary)
        if missing:
            return NOT_IN_SOURCES[language].format(terms=join_terms(missing, language))
        if unanswered(question, searcher.closest_listed_question(queries), self.settings.listed_question_cut):
            return NOT_ANSWERED[language]
        return None

    def _not_covered(self, request: GenerationRequest, statement: str) -> tuple[str, list[Source]]:
        """The plain "my sources don't say" answer, with the nearest passage's closest pieces, cited as [1]."""
        quotes = [q for q in self.fallback.quotes(request, limit=2) if q.passage.n == request.passages[0].n]
        nearest = request.passages[0]
        cited = [nearest.model_copy(update={"n": 1})]
        lines = [statement]
        if quotes:
            section = nearest.section.split(" > ")[-1] or nearest.title
            lines += ["", NEAREST[request.language].format(title=nearest.title, section=section)]
            lines += [f"- {q.unit.text} [1]" for q in sorted(quotes, key=lambda q: q.unit.order)]
        return "\n".join(lines), cited

    def _finish(
        self, question: str, language: Lang, text: str, sources: list[Source], status: AnswerStatus, backend: str, query: str
    ) -> Iterator[AnswerEvent]:
        """An answer that needs no backend (other language, out of scope, not covered): one delta, then done."""
        yield AnswerEvent(kind="delta", delta=text)
        yield AnswerEvent(
            kind="done",
            answer=Answer(
                question=question,
                text=text,
                language=language,
                in_scope=status not in ("out_of_scope", "unsupported_language"),
                status=status,
                sources=sources,
                backend=backend,
                query=query,
            ),
        )
