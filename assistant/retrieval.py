"""Hybrid retrieval: FAISS dense search and BM25 keywords, fused by reciprocal rank."""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

import bm25s
import faiss
import numpy as np
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .chunking import Chunk
from .embeddings import PackagedEmbeddings
from .index import LoadedIndex

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


def _fold(text: str) -> str:
    """Lowercase without accents, so 'données' and 'donnees' (and 'Déploiement') meet."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_STOPWORDS = sorted({_fold(w) for w in (*STOPWORDS_EN, *STOPWORDS_FRENCH)})


def _tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize([_fold(t) for t in texts], stopwords=_STOPWORDS, return_ids=False, show_progress=False)


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk; `similarity` is the dense cosine, `fused` the RRF score that ranked it."""

    chunk: Chunk
    similarity: float
    fused: float
    dense_rank: int | None
    keyword_rank: int | None


class HybridSearcher:
    """Dense + BM25 search over one loaded index; the BM25 model is built once, here."""

    def __init__(
        self,
        index: LoadedIndex,
        embeddings: PackagedEmbeddings,
        candidates: int = 20,
        rrf_k: int = 60,
        bm25_weight: float = 0.5,
        language_bonus: float = 0.0,
    ) -> None:
        self.index = index
        self.embeddings = embeddings
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.bm25_weight = bm25_weight
        self.language_bonus = language_bonus
        self._vectors = index.vectors
        self._bm25 = bm25s.BM25()
        self._bm25_ready = bool(index.chunks)
        if self._bm25_ready:
            self._bm25.index(_tokenize([c.embedding_text for c in index.chunks]), show_progress=False)

    def search(self, query: str, k: int = 4, language: str | None = None) -> list[ScoredChunk]:
        """Top-k chunks by fused rank; with `language`, chunks in it get a small bonus.

        The corpus holds most topics in both languages: the bonus puts the user's version first
        without hiding a passage that exists only in the other language.
        """
        chunks = self.index.chunks
        if not chunks or not query.strip():
            return []
        qvec = self.embeddings.embed_query_vector(query)
        n = min(self.candidates, len(chunks))
        _, dense_ids = self.index.faiss_index.search(qvec[None, :].astype(np.float32), n)
        dense_rank = {int(i): r for r, i in enumerate(dense_ids[0]) if i >= 0}
        keyword_rank = self._keyword_ranks(query, n)
        fused: dict[int, float] = {}
        for i, r in dense_rank.items():
            fused[i] = fused.get(i, 0.0) + 1.0 / (self.rrf_k + r + 1)
        for i, r in keyword_rank.items():
            fused[i] = fused.get(i, 0.0) + self.bm25_weight / (self.rrf_k + r + 1)
        if language and self.language_bonus:
            for i in fused:
                if chunks[i].metadata.get("lang") == language:
                    fused[i] += self.language_bonus / (self.rrf_k + 1)
        order = sorted(fused, key=lambda i: fused[i], reverse=True)[:k]
        sims = self._vectors[order] @ qvec if order else np.zeros(0)
        return [
            ScoredChunk(chunks[i], float(s), fused[i], dense_rank.get(i), keyword_rank.get(i))
            for i, s in zip(order, sims)
        ]

    def _keyword_ranks(self, query: str, n: int) -> dict[int, int]:
        tokens = _tokenize([query])
        if not self._bm25_ready or not tokens[0]:
            return {}
        ids, scores = self._bm25.retrieve(tokens, k=n, show_progress=False, n_threads=1)
        return {int(i): r for r, (i, s) in enumerate(zip(ids[0], scores[0])) if s > 0}


def to_document(hit: ScoredChunk) -> Document:
    metadata = dict(hit.chunk.metadata)
    metadata.update(id=hit.chunk.id, score=hit.similarity, fused_score=hit.fused)
    return Document(page_content=hit.chunk.text, metadata=metadata, id=hit.chunk.id)


class HybridRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever, so it composes with any chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(hit) for hit in self.searcher.search(query, self.k)]


def set_faiss_threads(threads: int) -> None:
    faiss.omp_set_num_threads(threads)
