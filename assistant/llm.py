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
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from .answer_guard import AnswerGuard
from .errors import AssistantError
from .prompts import EXTRACTIVE_INTRO, QUOTED_IN_OTHER_LANGUAGE, SYSTEM_PROMPT, user_prompt
from .schema import Role, Source


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a backend may use: the question, its language and the numbered passages."""

    question: str
    language: Lang
    passages: list[Source]
    history: list[tuple[Role, str]] = field(default_factory=list)


class BackendUnavailableError(AssistantError):
    """A backend is not configured or cannot start; the assistant answers extractively instead."""


class AnswerBackend(ABC):
    """One way of turning passages into an answer; streams text pieces that cite [n]."""

    name: str

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[str]: ...


# A regex, not a trained sentence splitter: the ones that exist (punkt, spaCy) need data
# downloads at run time. Splits after . ! ? … and at line breaks (Markdown list items).
_SENTENCE_END = re.compile(r"(?<![\s(][A-Z]\.)(?<=[.!?…])\s+(?=[«\"“(\[A-ZÀ-ÖØ-Þ0-9])|\n+")
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

    def select(self, request: GenerationRequest, limit: int | None = None) -> list[tuple[str, int]]:
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
            if len(chosen) == (limit or self.max_sentences):
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


def _in_text_order(text: str, sentences: list[str]) -> list[str]:
    return sorted(sentences, key=lambda s: text.find(s[:40]) if s[:40] in text else len(text))


class CitationFilter:
    """Streams text through, dropping citations like [7] that point to no passage.

    Text after an opening bracket is held back until the bracket closes (or clearly is not a
    citation), so a bad citation never reaches the user even while tokens stream.
    """

    _CITATION = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")

    def __init__(self, valid: set[int]) -> None:
        self.valid = valid
        self._held = ""

    def feed(self, text: str) -> str:
        self._held += text
        cut = self._held.rfind("[")
        if cut != -1 and "]" not in self._held[cut:] and len(self._held) - cut < 16:
            ready, self._held = self._held[:cut], self._held[cut:]
        else:
            ready, self._held = self._held, ""
        return self._clean(ready)

    def flush(self) -> str:
        ready, self._held = self._held, ""
        return self._clean(ready)

    def _clean(self, text: str) -> str:
        def keep(match: re.Match[str]) -> str:
            numbers = [int(n) for n in re.split(r"\s*[,;]\s*", match.group(1))]
            good = [n for n in numbers if n in self.valid]
            return "".join(f"[{n}]" for n in good)

        return self._CITATION.sub(keep, text)


def trim_passages(passages: list[Source], budget_chars: int) -> list[tuple[int, str, str]]:
    """(n, heading, text) for the prompt, cutting the least relevant passages first to fit the budget."""
    # Only the nearest heading: long heading paths invite small models to recite them.
    items = [(p.n, p.section.split(" > ")[-1] if p.section else p.title, p.text) for p in passages]
    total = sum(len(h) + len(t) + 8 for _, h, t in items)
    while total > budget_chars and items:
        n, heading, text = items[-1]
        excess = total - budget_chars
        if len(text) - excess >= 200:
            items[-1] = (n, heading, text[: len(text) - excess].rsplit(" ", 1)[0] + " …")
            break
        items.pop()
        total = sum(len(h) + len(t) + 8 for _, h, t in items)
    return items


class ChatModelBackend(AnswerBackend):
    """Any LangChain chat model writes the answer from the numbered passages (local or hosted)."""

    # Characters per token for budget estimates in French and English prose (conservative).
    CHARS_PER_TOKEN = 3.2

    def __init__(
        self, name: str, chat_model: BaseChatModel, settings: Settings, focus: ExtractiveBackend | None = None
    ) -> None:
        self.name = name
        self.chat_model = chat_model
        self.settings = settings
        self.focus = focus

    def _focus(self, request: GenerationRequest) -> list[Source]:
        """Each passage cut to its sentences most relevant to the question.

        A short prompt is what keeps a small CPU model's first token fast, and fewer, sharper
        sentences keep it from copying whole passages.
        """
        if self.focus is None:
            return request.passages
        picked = self.focus.select(request, limit=self.settings.focus_sentences)
        by_passage: dict[int, list[str]] = {}
        for sentence, n in picked:
            by_passage.setdefault(n, []).append(sentence)
        return [
            p.model_copy(update={"text": " ".join(_in_text_order(p.text, by_passage[p.n]))})
            for p in request.passages
            if p.n in by_passage
        ]

    def messages(self, request: GenerationRequest) -> list[BaseMessage]:
        history: list[BaseMessage] = []
        for role, text in request.history[-4:]:
            text = text[:600]
            history.append(HumanMessage(text) if role == "user" else AIMessage(text))
        fixed = len(SYSTEM_PROMPT) + len(request.question) + sum(len(m.text) for m in history) + 400
        budget_tokens = self.settings.context_tokens - self.settings.max_tokens
        budget_chars = int(budget_tokens * self.CHARS_PER_TOKEN) - fixed
        passages = trim_passages(self._focus(request), max(budget_chars, 400))
        prompt = user_prompt(request.question, request.language, passages)
        return [SystemMessage(SYSTEM_PROMPT), *history, HumanMessage(prompt)]

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        citations = CitationFilter({p.n for p in request.passages})
        guard = (
            AnswerGuard(request.passages, self.settings.answer_support, request.language)
            if self.settings.answer_support
            else None
        )
        for chunk in self.chat_model.stream(self.messages(request)):
            text = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
            out = citations.feed(text)
            if guard is not None:
                out = guard.feed(out)
            if out:
                yield out
        tail = citations.flush()
        if guard is not None:
            tail = guard.feed(tail) + guard.flush()
        if tail:
            yield tail


BackendFactory = Callable[[Settings, PackagedEmbeddings], AnswerBackend]


def _openai_chat_model(settings: Settings, base_url: str, model: str, api_key: str) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=api_key,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        timeout=settings.llm_timeout,
        max_retries=0,
        streaming=True,
    )


def make_local_backend(settings: Settings, embeddings: PackagedEmbeddings) -> AnswerBackend:
    """llama.cpp in process (xllamacpp) behind the same OpenAI-compatible client as hosted models."""
    from .local_llm import shared_server

    server = shared_server(settings)
    model = _openai_chat_model(settings, server.base_url, server.model_path.stem, "local")
    return ChatModelBackend("local", model, settings, focus=ExtractiveBackend(embeddings))


def make_openai_backend(settings: Settings, embeddings: PackagedEmbeddings) -> AnswerBackend:
    if not settings.openai_base_url and settings.openai_api_key is None:
        raise BackendUnavailableError(
            "the openai backend is not configured: set MLCAREER_OPENAI_BASE_URL and/or "
            "MLCAREER_OPENAI_API_KEY (or OPENAI_API_KEY)"
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    base_url = settings.openai_base_url or "https://api.openai.com/v1"
    chat_model = _openai_chat_model(settings, base_url, settings.openai_model, key)
    return ChatModelBackend("openai", chat_model, settings, focus=ExtractiveBackend(embeddings))


BACKENDS: dict[str, BackendFactory] = {
    "extractive": lambda settings, embeddings: ExtractiveBackend(embeddings, settings.answer_sentences),
    "local": make_local_backend,
    "openai": make_openai_backend,
}


def make_backend(name: str, settings: Settings, embeddings: PackagedEmbeddings) -> AnswerBackend:
    if name not in BACKENDS:
        raise ValueError(f"unknown answer backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name](settings, embeddings)
