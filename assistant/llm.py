"""Answer backends behind one small interface: given numbered passages, stream an answer.

`extractive` ships here; generating backends (local, hosted) plug into the same registry.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .config import Settings
from .embeddings import PackagedEmbeddings
from .language import Lang
from .prompts import EXTRACTIVE_INTRO, QUOTED_IN_OTHER_LANGUAGE
from .schema import Role, Source


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a backend may use: the question, its language and the numbered passages."""

    question: str
    language: Lang
    passages: list[Source]
    history: list[tuple[Role, str]] = field(default_factory=list)


class AnswerBackend(ABC):
    """One way of turning passages into an answer; streams text pieces that cite [n]."""

    name: str

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[str]: ...


# A regex, not a trained sentence splitter: the ones that exist (punkt, spaCy) need data
# downloads at run time. Splits after . ! ? … and at line breaks (Markdown list items).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"“(\[A-ZÀ-ÖØ-Þ0-9])|\n+")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`")


def split_sentences(text: str) -> list[str]:
    sentences = []
    for raw in _SENTENCE_END.split(text):
        sentence = _MARKDOWN_NOISE.sub("", _LIST_MARK.sub("", raw)).strip()
        if len(sentence) >= 25 and not sentence.startswith("#"):
            sentences.append(sentence)
    return sentences


class ExtractiveBackend(AnswerBackend):
    """No generation: the passages' sentences closest to the question, quoted and cited.

    Always available, deterministic and instant, so it is also the fallback of every other backend.
    """

    name = "extractive"

    def __init__(self, embeddings: PackagedEmbeddings, max_sentences: int = 4, cache_size: int = 4096) -> None:
        self.embeddings = embeddings
        self.max_sentences = max_sentences
        # Passages repeat across questions; embedding their sentences is most of an answer's cost.
        self._sentence_cache: OrderedDict[tuple[str, str], tuple[list[str], np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def _sentences(self, passage: Source) -> tuple[list[str], np.ndarray]:
        key = (passage.id, passage.text)
        with self._cache_lock:
            if key in self._sentence_cache:
                self._sentence_cache.move_to_end(key)
                return self._sentence_cache[key]
        sentences = split_sentences(passage.text)
        vectors = self.embeddings.embed_passages(sentences)
        with self._cache_lock:
            self._sentence_cache[key] = (sentences, vectors)
            if len(self._sentence_cache) > self._cache_size:
                self._sentence_cache.popitem(last=False)
        return sentences, vectors

    def warm_up(self, passages: list[Source]) -> None:
        """Embed the sentences of these passages ahead of the questions (a server does it at start)."""
        for passage in passages:
            self._sentences(passage)

    def select(self, request: GenerationRequest) -> list[tuple[str, int]]:
        """The best (sentence, citation number) pairs, most relevant first, near-duplicates dropped."""
        candidates: list[tuple[str, int, int]] = []  # sentence, citation, passage rank
        blocks = []
        for rank, passage in enumerate(request.passages):
            sentences, block = self._sentences(passage)
            candidates += [(sentence, passage.n, rank) for sentence in sentences]
            blocks.append(block)
        if not candidates:
            return [(p.text.strip(), p.n) for p in request.passages[:1] if p.text.strip()]
        query = self.embeddings.embed_query_vector(request.question)
        vectors = np.concatenate([b for b in blocks if len(b)])
        same_language = np.array(
            [request.passages[c[2]].lang == request.language for c in candidates], dtype=np.float32
        )
        ranks = np.array([c[2] for c in candidates], dtype=np.float32)
        # Relevance first; small nudges towards better-ranked passages and the user's language.
        scores = vectors @ query - 0.01 * ranks + 0.02 * same_language
        chosen: list[int] = []
        for i in np.argsort(-scores):
            if any(float(vectors[i] @ vectors[j]) > 0.95 for j in chosen):
                continue
            chosen.append(int(i))
            if len(chosen) == self.max_sentences:
                break
        return [(candidates[i][0], candidates[i][1]) for i in chosen]

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        selected = self.select(request)
        cited = {n for _, n in selected}
        langs = {p.lang for p in request.passages if p.n in cited}
        other = langs and request.language not in langs
        yield (QUOTED_IN_OTHER_LANGUAGE if other else EXTRACTIVE_INTRO)[request.language] + "\n\n"
        for sentence, n in selected:
            yield f"- {sentence} [{n}]\n"


BackendFactory = Callable[[Settings, PackagedEmbeddings], AnswerBackend]

BACKENDS: dict[str, BackendFactory] = {
    "extractive": lambda settings, embeddings: ExtractiveBackend(embeddings, settings.answer_sentences),
}


def make_backend(name: str, settings: Settings, embeddings: PackagedEmbeddings) -> AnswerBackend:
    if name not in BACKENDS:
        raise ValueError(f"unknown answer backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name](settings, embeddings)
