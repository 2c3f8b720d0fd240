"""The pipeline: condense -> retrieve -> scope guard -> generate, behind the `Assistant` API."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .chunking import Chunk
from .config import Settings, get_settings
from .conversation import condense_question, validate_history, validate_question
from .embeddings import load_embeddings
from .index import IndexManifest, load_index, recover_interrupted_swap
from .language import detect_language
from .llm import AnswerBackend, GenerationRequest, make_backend
from .prompts import NOT_COVERED
from .retrieval import HybridRetriever, HybridSearcher, ScoredChunk, set_faiss_threads
from .schema import Answer, AnswerEvent, Source

log = logging.getLogger(__name__)


def to_source(hit: ScoredChunk, n: int) -> Source:
    meta = hit.chunk.metadata
    links = meta.get("links") or []
    url = meta.get("url") or (links[0] if links else None)
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
        self._lock = threading.Lock()
        self._warm_up: threading.Thread | None = None
        self._searcher = self._load_searcher()
        self.backend: AnswerBackend = make_backend(self.settings.llm, self.settings, self.embeddings)

    def _load_searcher(self) -> HybridSearcher:
        recover_interrupted_swap(self.settings.index_dir)
        index = load_index(self.settings.index_dir, self.embeddings.spec)
        log.info("index loaded: %d chunks from %s", len(index.chunks), index.directory)
        s = self.settings
        return HybridSearcher(index, self.embeddings, s.candidates, s.rrf_k, s.bm25_weight, s.language_bonus)

    @property
    def manifest(self) -> IndexManifest:
        return self._searcher.index.manifest

    @property
    def chunks(self) -> list[Chunk]:
        return self._searcher.index.chunks

    def warm_up_in_background(self) -> threading.Thread | None:
        """Let the extractive backend pre-embed every passage's sentences while the server already serves."""
        warm = getattr(self.backend, "warm_up", None)
        if warm is None:
            return None
        passages = [to_source(ScoredChunk(c, 0.0, 0.0, None, None), 0) for c in self.chunks]
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
        self, question: str, history: Sequence[tuple[str, str]] | None = None, k: int | None = None
    ) -> Iterator[AnswerEvent]:
        """Sources as soon as retrieval is done, then text deltas, then the complete Answer."""
        question = validate_question(question, self.settings.max_question_chars)
        turns = validate_history(history, self.settings.max_history_turns)
        previous = next((text for role, text in reversed(turns) if role == "user"), None)
        language = detect_language(question, default=detect_language(previous) if previous else "en")
        query = condense_question(question, turns)
        hits = self._searcher.search(query, k or self.settings.top_k, language=language)
        in_scope = bool(hits) and max(h.similarity for h in hits) >= self.settings.scope_threshold
        sources = [to_source(hit, n) for n, hit in enumerate(hits, start=1)] if in_scope else []
        yield AnswerEvent(kind="sources", sources=sources)

        if not in_scope:
            pieces = [NOT_COVERED[language]]
            backend_name = "scope-guard"
        else:
            request = GenerationRequest(question=question, language=language, passages=sources, history=turns)
            pieces = self.backend.stream(request)
            backend_name = self.backend.name
        text = ""
        for piece in pieces:
            text += piece
            yield AnswerEvent(kind="delta", delta=piece)
        answer = Answer(
            question=question,
            text=text.strip(),
            language=language,
            in_scope=in_scope,
            sources=sources,
            backend=backend_name,
            query=query,
        )
        yield AnswerEvent(kind="done", answer=answer)
