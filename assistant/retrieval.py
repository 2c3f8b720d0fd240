"""Hybrid retrieval: FAISS over passages and headings plus BM25 keywords, fused by a weighted sum."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import faiss
import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .answering.answerability import corpus_vocabulary
from .chunking import Chunk
from .embeddings import PackagedEmbeddings
from .index import LoadedIndex
from .scope import neighbour_margin
from .text import STOPWORDS, fold, stemmer

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG


_TOKEN = re.compile(r"(?u)\b\w\w+\b")
ELLIPSIS = "[…]"  # marks text left out between a section's opening and a window further down


def keyword_tokens(text: str, langs: Sequence[str]) -> list[str]:
    """Folded, stop-word-free tokens stemmed in each language given (a query: both; a passage: its own)."""
    words = [w for w in _TOKEN.findall(fold(text)) if w not in STOPWORDS]
    tokens: list[str] = []
    for lang in langs:
        tokens += stemmer(lang).stemWords(words)
    return list(dict.fromkeys(tokens)) if len(langs) > 1 else tokens


@dataclass(frozen=True)
class ScoredChunk:
    """A retrieved chunk; `similarity` is the passage's dense cosine, `score` the fused score that ranked it."""

    chunk: Chunk
    similarity: float
    score: float
    heading_similarity: float = 0.0
    keyword_score: float = 0.0


@dataclass(frozen=True)
class FusionWeights:
    """How the signals add up; the values and the search that chose them are in eval/DECISIONS.md."""

    heading: float = 0.35
    keyword: float = 0.03
    language: float = 0.01
    intro_penalty: float = 0.03
    question: float = 1.5


class HybridSearcher:
    """Dense (passages and headings) + BM25 candidates, rescored by a weighted sum.

    Candidates come from four searches (FAISS over passage vectors, FAISS over heading vectors,
    BM25, the questions the sections list), then each is scored on every signal:
    cosine(passage) + w_h * cosine(heading) + w_k * bm25 / max bm25 + w_q * cosine(closest listed
    question) + w_l * [same language] - w_i * [document introduction]. A weighted sum of the raw
    scores beat reciprocal-rank fusion (MRR 0.79 -> 0.87 on the eval set, 0.79 -> 0.84 on the
    held-out set) because E5's cosines are compressed: ranks throw away how close the runners-up are.
    """

    def __init__(
        self,
        index: LoadedIndex,
        embeddings: PackagedEmbeddings,
        candidates: int = 20,
        weights: FusionWeights | None = None,
    ) -> None:
        self.index = index
        self.embeddings = embeddings
        self.candidates = candidates
        self.weights = weights or FusionWeights()
        self._vectors = index.vectors
        self._headings = index.heading_vectors
        self._langs = np.array([c.metadata.get("lang") for c in index.chunks], dtype=object)
        self._twins = _twin_keys(index.chunks)
        self._sections = _section_keys(index.chunks)
        self._position = {c.id: i for i, c in enumerate(index.chunks)}
        # Per chunk, the positions of its section's chunks in this document (its own language), in order.
        groups: dict[tuple[str, int], list[int]] = {}
        for i, (chunk, (_, n)) in enumerate(zip(index.chunks, self._sections)):
            groups.setdefault((str(chunk.metadata.get("source", "")), n), []).append(i)
        self._siblings = [groups[(str(c.metadata.get("source", "")), n)] for c, (_, n) in zip(index.chunks, self._sections)]
        self._intro = np.array([not c.section for c in index.chunks], dtype=bool)
        self._question_vectors, self._question_owner = index.question_vectors
        self._scope_questions = index.scope_question_vectors
        self._scope_labels = np.array(index.scope.labels, dtype=bool)
        self._bm25 = bm25s.BM25()
        self._bm25_ready = bool(index.chunks)
        if self._bm25_ready:
            corpus = [keyword_tokens(c.embedding_text, [str(c.metadata.get("lang") or "en")]) for c in index.chunks]
            self._bm25.index(corpus, show_progress=False)
        self._vocabulary = set(self._bm25.vocab_dict) if self._bm25_ready else set()
        # Every word of the index, unstemmed: what the answerability check looks names up in.
        self.vocabulary = corpus_vocabulary(f"{c.title} {c.section} {c.text}" for c in index.chunks)

    def search(
        self,
        query: str | Sequence[str],
        k: int = 4,
        language: str | None = None,
        one_per_section: bool = False,
        weights: Sequence[float] | None = None,
    ) -> list[ScoredChunk]:
        """Top-k chunks for one query, or for several read together (their scores are averaged,
        weighted by `weights` when given: one weight per query).

        With `language`, chunks in it get a small bonus: the corpus holds most topics in both
        languages, and the bonus puts the user's version first without hiding a passage that
        exists only in the other language. With `one_per_section`, a section (in either
        language) gives only its best chunk, for `section_text` to widen.
        """
        given = [query] if isinstance(query, str) else list(query)
        weight_of = list(weights) if weights is not None else [1.0] * len(given)
        if len(weight_of) != len(given) or any(w <= 0 for w in weight_of):
            raise ValueError(f"one positive weight per query: {len(weight_of)} weights for {len(given)} queries")
        kept = [(q, w) for q, w in zip(given, weight_of) if q.strip()]
        queries = [q for q, _ in kept]
        query_weights = np.array([w for _, w in kept], dtype=float)
        chunks = self.index.chunks
        if not chunks or not queries:
            return []
        n = min(self.candidates, len(chunks))
        vectors = [self.embeddings.embed_query_vector(q) for q in queries]
        keywords = [self._keyword_scores(q, n) for q in queries]
        w = self.weights
        asked = [self._closest_question(v) for v in vectors] if w.question and len(self._question_owner) else None
        candidate_ids: set[int] = set()
        for qvec, keyword in zip(vectors, keywords):
            query_matrix = qvec[None, :].astype(np.float32)
            _, dense_ids = self.index.faiss_index.search(query_matrix, n)
            _, heading_ids = self.index.heading_index.search(query_matrix, n)
            candidate_ids.update(int(i) for i in (*dense_ids[0], *heading_ids[0], *keyword) if i >= 0)
        if asked is not None:
            # The passages whose listed questions are closest to the user's are candidates too.
            for best in asked:
                candidate_ids.update(int(i) for i in np.argsort(-best)[:n] if best[i] > 0)
        ids = np.array(sorted(candidate_ids))
        score = np.zeros(len(ids))
        similarity = np.full(len(ids), -1.0)
        heading = np.zeros(len(ids))
        keyword_norm = np.zeros(len(ids))
        for position, (qvec, keyword) in enumerate(zip(vectors, keywords)):
            sim = self._vectors[ids] @ qvec
            head = self._headings[ids] @ qvec
            top_keyword = max(keyword.values(), default=0.0)
            kw = np.array([keyword.get(int(i), 0.0) / top_keyword if top_keyword else 0.0 for i in ids])
            fused = sim + w.heading * head + w.keyword * kw
            if asked is not None:
                # A passage without questions scores as if its closest question were as close as its heading.
                closest = asked[position][ids]
                fused = fused + w.question * np.where(closest > 0, closest, head)
            score += query_weights[position] * fused
            similarity, heading, keyword_norm = np.maximum(similarity, sim), np.maximum(heading, head), np.maximum(keyword_norm, kw)
        score = score / query_weights.sum() - w.intro_penalty * self._intro[ids]
        if language:
            score = score + w.language * (self._langs[ids] == language)
        order = []
        seen: set[tuple[str, int]] = set()
        for j in np.argsort(-score, kind="stable"):
            # A section's version in the other language says the same thing: one of the two is enough.
            twin = self._sections[ids[j]] if one_per_section else self._twins[ids[j]]
            if twin in seen:
                continue
            seen.add(twin)
            order.append(j)
            if len(order) == k:
                break
        return [
            ScoredChunk(chunks[ids[j]], float(similarity[j]), float(score[j]), float(heading[j]), float(keyword_norm[j]))
            for j in order
        ]

    def section_text(self, chunk: Chunk, max_chars: int) -> tuple[str, list[str]]:
        """The chunk with the rest of its section around it, up to `max_chars`, and the chunks used.

        A long section is cut into several chunks and the answer often continues in the next one
        (blind reading: six passages that were four chunks of one section held more answers than
        six sections cut to their best chunk). Neighbours are added after, then before, while
        they fit; the chunks' overlaps are removed. A window that does not reach the section's
        start gets the section's first chunk too, beyond `max_chars`, with a "[…]" line where text
        is left out: every section opens on the sentence that answers its heading, and blind readers
        found the cut-off windows lacking exactly that (37 to 0 preferred, eval/DECISIONS.md).
        """
        position = self._position[chunk.id]
        siblings = self._siblings[position]
        lengths = [len(self.index.chunks[i].text) for i in siblings]
        first = last = siblings.index(position)
        length = lengths[first]
        while True:
            for candidate in (last + 1, first - 1):
                if 0 <= candidate < len(siblings) and length + lengths[candidate] <= max_chars:
                    break
            else:
                break
            first, last = min(first, candidate), max(last, candidate)
            length += lengths[candidate]
        chunks = [self.index.chunks[i] for i in siblings[first : last + 1]]
        text = chunks[0].text
        for nxt in chunks[1:]:
            text = _join_overlapping(text, nxt.text)
        if first > 0:  # a window deep in a long section still opens on the section's answer
            opening = self.index.chunks[siblings[0]]
            text = _join_overlapping(opening.text, text) if first == 1 else f"{opening.text}\n\n{ELLIPSIS}\n\n{text}"
            chunks = [opening, *chunks]
        return text, [c.id for c in chunks]

    def _closest_question(self, qvec: np.ndarray) -> np.ndarray:
        """Per chunk, the cosine of its closest listed question (0 for a chunk without questions)."""
        best = np.zeros(len(self.index.chunks))
        np.maximum.at(best, self._question_owner, self._question_vectors @ qvec)
        return best

    def closest_listed_question(self, queries: Sequence[str]) -> float | None:
        """The cosine of the corpus's listed question closest to any of the queries; None when it lists none."""
        if not len(self._question_owner):
            return None
        vectors = [self.embeddings.embed_query_vector(q) for q in queries if q.strip()]
        return max((float(np.max(self._question_vectors @ v)) for v in vectors), default=None)

    def best_similarity(self, queries: Sequence[str]) -> float:
        """The cosine of the closest passage in the whole index to any of the queries (the scope signal)."""
        best = -1.0
        for q in queries:
            if q.strip() and self.index.chunks:
                scores, _ = self.index.faiss_index.search(self.embeddings.embed_query_vector(q)[None, :].astype(np.float32), 1)
                best = max(best, float(scores[0][0]))
        return best

    def scope_probability(self, query: str) -> float:
        """The index's scope classifier on this query (see assistant/scope.py)."""
        return self.index.scope.probability(self.embeddings.embed_query_vector(query))

    def scope_margin(self, query: str) -> float:
        """How much closer the query sits to in-scope training questions than to off-topic ones."""
        return neighbour_margin(self.embeddings.embed_query_vector(query), self._scope_questions, self._scope_labels)

    def _keyword_scores(self, query: str, n: int) -> dict[int, float]:
        # The corpus holds both languages: the query's words are stemmed both ways.
        tokens = [t for t in keyword_tokens(query, ["fr", "en"]) if t in self._vocabulary]
        if not self._bm25_ready or not tokens:
            return {}
        ids, scores = self._bm25.retrieve([tokens], k=n, show_progress=False, n_threads=1)
        return {int(i): float(s) for i, s in zip(ids[0], scores[0]) if s > 0}


_LANGUAGE_SUFFIX = re.compile(r"\.(fr|en)(\.[a-z]+)$")


def _twin_keys(chunks: list[Chunk]) -> list[tuple[str, int]]:
    """(document without its language suffix, chunk position in it): "books.fr.md" and "books.en.md"
    hold the same sections in the same order, so their chunks at one position are translations.
    A document without a twin keeps a key of its own."""
    keys: list[tuple[str, int]] = []
    position: dict[str, int] = {}
    for chunk in chunks:
        source = str(chunk.metadata.get("source", ""))
        stem = _LANGUAGE_SUFFIX.sub(r"\2", source)
        n = position.get(source, 0)
        position[source] = n + 1
        keys.append((stem, n))
    return keys


def _section_keys(chunks: list[Chunk]) -> list[tuple[str, int]]:
    """(document without its language suffix, section position in it): the same section in both
    languages, whichever chunk of it. In a text without headings each chunk is its own section."""
    keys: list[tuple[str, int]] = []
    positions: dict[str, dict[str, int]] = {}
    for position, chunk in enumerate(chunks):
        source = str(chunk.metadata.get("source", ""))
        seen = positions.setdefault(source, {})
        n = seen.setdefault(chunk.section, len(seen)) if chunk.section else -1 - position
        keys.append((_LANGUAGE_SUFFIX.sub(r"\2", source), n))
    return keys


def _join_overlapping(first: str, second: str, longest: int = 400) -> str:
    """Two consecutive chunks as one text: the splitter repeats up to `chunk_overlap` characters."""
    for size in range(min(longest, len(first), len(second)), 10, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n\n{second}"


def to_document(hit: ScoredChunk) -> Document:
    metadata = dict(hit.chunk.metadata)
    metadata.update(id=hit.chunk.id, score=hit.similarity, fused_score=hit.score)
    return Document(page_content=hit.chunk.text, metadata=metadata, id=hit.chunk.id)


class HybridRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever, so it composes with any chain."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    k: int = 4

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """The top `k` passages: `k` given at call time (`invoke(query, k=2)`) wins over the retriever's own."""
        return [to_document(hit) for hit in self.searcher.search(query, k or self.k)]


def set_faiss_threads(threads: int) -> None:
    faiss.omp_set_num_threads(threads)
