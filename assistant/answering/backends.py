"""Answer backends behind one small interface: given numbered passages, stream an answer.

`extractive` ships here; generating backends (local, hosted) plug into the same registry.
"""

from __future__ import annotations

import difflib
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..config import Settings
from ..conversation import previous_answer, previous_question
from ..embeddings import PackagedEmbeddings
from ..language import Lang
from langchain_core.language_models import BaseChatModel
from langchain_core.utils.json import parse_partial_json
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from .gate import BusyError, GenerationGate, RequestCancelled, Waiting
from .guard import AnswerGuard, UnsupportedAnswerError
from ..errors import AssistantError
from .prompts import (
    SENTENCE_CHARS,
    QUOTED_IN_OTHER_LANGUAGE,
    WRITTEN_HEADER,
    STRUCTURED_SYSTEM_PROMPT,
    SYSTEM_PROMPT,
    answer_schema,
    structured_user_prompt,
    user_prompt,
)
from .answerability import asks_yes_or_no, named_share, question_parts
from .selection import Quote, UnitCache, add_parts, compose, not_said_before, rank_quotes, select
from ..schema import Role, Source


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationRequest:
    """Everything a backend may use: the question, its language and the numbered passages."""

    question: str
    language: Lang
    passages: list[Source]
    history: list[tuple[Role, str]] = field(default_factory=list)
    query: str = ""  # the standalone query (a follow-up with its topic); the question when empty
    cancel: threading.Event | None = None  # set when the client has gone: stop and free the model


class BackendUnavailableError(AssistantError):
    """A backend is not configured or cannot start; the assistant answers extractively instead."""


class PassagesDoNotAnswerError(AssistantError):
    """A generating backend found no answer in the passages (raised before any text is shown)."""


class WrittenPartFailed(AssistantError):
    """In hybrid mode, the written answer failed after the quoted key points were shown."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


RETRIES = 2  # a hosted endpoint's 429, 5xx or dropped connection, before any text


def _retryable(exc: Exception) -> bool:
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int):
        return status == 429 or status >= 500
    return any(word in type(exc).__name__ for word in ("Connection", "Timeout", "RemoteProtocol"))


class AnswerBackend(ABC):
    """One way of turning passages into an answer; streams text pieces that cite [n].

    A backend that waits for a shared model may also yield `Waiting` (its place in line) between pieces.
    """

    name: str

    @abstractmethod
    def stream(self, request: GenerationRequest) -> Iterator[str | Waiting]: ...


class ExtractiveBackend(AnswerBackend):
    """No generation: the passages' own sentences and list items that answer the question, cited.

    Always available, deterministic and instant, so it is also the fallback of every other backend
    and picks the passages' most relevant pieces for the generating ones (`quotes`).
    """

    name = "extractive"

    def __init__(self, embeddings: PackagedEmbeddings, max_units: int = 5, cache_size: int = 4096) -> None:
        self.embeddings = embeddings
        self.max_units = max_units
        # Passages repeat across questions; embedding their pieces is most of an answer's cost.
        self.units = UnitCache(embeddings, cache_size)

    def warm_up(self, passages: list[Source]) -> None:
        """Cut and embed these passages ahead of the questions (a server does it at start)."""
        for passage in passages:
            self.units.get(passage)

    def quotes(self, request: GenerationRequest, limit: int | None = None, only_close: bool = True) -> list[Quote]:
        """The pieces to quote, best first; `only_close=False` keeps the `limit` best whatever their margin."""
        vector = self.embeddings.embed_query_vector(request.query or request.question)
        named = named_share(request.question, request.passages)
        said = previous_answer(request.history)
        ranked = not_said_before(rank_quotes(vector, request.passages, request.language, self.units, named), said)
        if limit is not None:
            # That many pieces at most (the nearest passage of a "not covered" answer): never filled or widened.
            return select(ranked, limit, only_close=only_close, fill_chars=0)
        chosen = select(ranked, self.max_units, only_close=only_close)
        parts = question_parts(request.question)
        if not (parts and only_close):
            return chosen
        rankings = [
            not_said_before(rank_quotes(self.embeddings.embed_query_vector(part), request.passages, request.language, self.units, named), said)
            for part in parts
        ]
        return add_parts(chosen, rankings)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        quotes = self.quotes(request)
        if not quotes:  # passages too short to cut: the first one whole
            first = request.passages[0] if request.passages else None
            if first is not None and first.text.strip():
                yield f"{first.text.strip()} [{first.n}]"
            return
        if request.language not in {q.passage.lang for q in quotes}:
            yield QUOTED_IN_OTHER_LANGUAGE[request.language] + "\n\n"
        blocks = compose(quotes)
        if not asks_yes_or_no(request.question, request.language):
            blocks[0] = without_yes_or_no(blocks[0])
        for i, block in enumerate(blocks):  # a block a delta: clients render the answer as it comes
            yield block + ("\n\n" if i < len(blocks) - 1 else "")


_YES_NO_OPENING = re.compile(r"^(- )?(?:Oui|Non|Yes|No)\s*[,:;]\s*(\w)")


def without_yes_or_no(block: str) -> str:
    """The block without its opening "Oui," / "Yes," / "No:" (the rest of the sentence, capitalised)."""
    return _YES_NO_OPENING.sub(lambda m: (m.group(1) or "") + m.group(2).upper(), block, count=1)


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
        self,
        name: str,
        chat_model: BaseChatModel,
        settings: Settings,
        focus: ExtractiveBackend | None = None,
        gate: GenerationGate | None = None,
        readiness: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.chat_model = chat_model
        self.settings = settings
        self.focus = focus
        self.gate = gate
        # Raises BackendUnavailableError at once while the model is loading or restarting.
        self.readiness = readiness
        self.model: object | None = None  # the local model process, when there is one (its state for /healthz)

    def _focus(self, request: GenerationRequest) -> list[Source]:
        """Each passage cut to its sentences most relevant to the question.

        A short prompt is what keeps a small CPU model's first token fast, and fewer, sharper
        sentences keep it from copying whole passages.
        """
        if self.focus is None:
            return request.passages
        if self._hybrid:
            # The summary under the quotes is written from the quoted pieces only: nothing from a
            # passage the reader was not shown (blind reading: it pasted off-topic sentences), and
            # a shorter prompt.
            picked = self.focus.quotes(request)
        else:
            picked = self.focus.quotes(request, limit=self.settings.focus_sentences, only_close=False)
        by_passage: dict[int, list[str]] = {}
        for quote in picked:
            # A long list item is cut at a word: the prompt's length is what a CPU model's first token waits for.
            text = quote.unit.text if len(quote.unit.text) <= FOCUS_UNIT_CHARS else quote.unit.text[:FOCUS_UNIT_CHARS].rsplit(" ", 1)[0] + " …"
            by_passage.setdefault(quote.passage.n, []).append(text)
        return [
            p.model_copy(update={"text": " ".join(_in_text_order(p.text, by_passage[p.n]))})
            for p in request.passages
            if p.n in by_passage
        ]

    def messages(self, request: GenerationRequest, structured: bool = False) -> list[BaseMessage]:
        history: list[BaseMessage] = []
        earlier = previous_question(request.history)
        # Structured answers keep the constant prefix (system prompt) cacheable: the conversation is
        # reduced to the earlier question, inside the user message.
        for role, text in [] if structured else request.history[-4:]:
            text = text[:600]
            history.append(HumanMessage(text) if role == "user" else AIMessage(text))
        system = STRUCTURED_SYSTEM_PROMPT if structured else SYSTEM_PROMPT
        fixed = len(system) + len(request.question) + sum(len(m.text) for m in history) + 400
        budget_tokens = self.settings.context_tokens - self.settings.max_tokens
        budget_chars = int(budget_tokens * self.CHARS_PER_TOKEN) - fixed
        passages = trim_passages(self._focus(request), max(budget_chars, 400))
        if structured:
            prompt = structured_user_prompt(
                request.question,
                request.language,
                passages,
                earlier[-MAX_EARLIER_CHARS:] if earlier else None,
                summary=self._hybrid,
            )
        else:
            prompt = user_prompt(request.question, request.language, passages)
        return [SystemMessage(system), *history, HumanMessage(prompt)]

    @property
    def _hybrid(self) -> bool:
        return self.settings.answer_mode == "hybrid" and self.focus is not None

    def stream(self, request: GenerationRequest) -> Iterator[str | Waiting]:
        """In hybrid mode, the quoted key points at once, then the written answer; else the written answer only."""
        if self._hybrid:
            quoted: list[str] = []
            for piece in self.focus.stream(request):
                quoted.append(piece)
                yield piece
            try:
                written = self._written(request, quoted="".join(quoted))
                first = next(written)
                while isinstance(first, Waiting):
                    yield first
                    first = next(written)
                yield "\n\n" + WRITTEN_HEADER[request.language] + "\n\n" + first
                yield from written
            except StopIteration:
                return
            except (PassagesDoNotAnswerError, UnsupportedAnswerError):
                return  # the key points stand alone: nothing the model wrote held against them
            except (BusyError, RequestCancelled, BackendUnavailableError):
                raise
            except Exception as exc:  # noqa: BLE001 - the quotes are shown: the written part just ends
                raise WrittenPartFailed(exc) from exc
            return
        yield from self._written(request)

    def _written(self, request: GenerationRequest, quoted: str = "") -> Iterator[str | Waiting]:
        """The model's answer, once the model is up and a slot is free (places in line yielded meanwhile).

        `quoted`: the key points already shown (hybrid); a written sentence restating one is left out.
        """
        if self.readiness is not None:
            self.readiness()
        started = time.monotonic()
        if self.gate is not None:
            yield from self.gate.wait_for_slot(request.cancel)
        try:
            pieces = self._stream_structured(request, quoted) if self.settings.structured_output else self._stream_free(request)
            for piece in pieces:
                if request.cancel is not None and request.cancel.is_set():
                    pieces.close()  # closes the HTTP stream: llama.cpp stops and frees the slot
                    raise RequestCancelled("the client left")
                yield piece
        finally:
            if self.gate is not None:
                self.gate.release(time.monotonic() - started)

    def _chunks(self, messages: list[BaseMessage], cancel: threading.Event | None = None, **kwargs: object) -> Iterator[str]:
        """The model's text as it streams; a refused or dropped request is retried only before any text arrived.

        `cancel` is checked on every chunk, not only on what is shown: a client that leaves while
        the model writes sentences that are all left out must still free the slot at once.
        """
        for attempt in range(RETRIES + 1):
            produced = False
            stream = self.chat_model.stream(messages, **kwargs)
            try:
                for chunk in stream:
                    produced = True
                    if cancel is not None and cancel.is_set():
                        raise RequestCancelled("the client left")
                    yield chunk.text if isinstance(chunk.text, str) else str(chunk.content)
                return
            except RequestCancelled:
                raise
            except Exception as exc:
                if produced or attempt == RETRIES or not _retryable(exc):
                    raise
                log.warning("%s backend: %s, retrying in %.1f s", self.name, type(exc).__name__, 0.5 * 2**attempt)
                time.sleep(0.5 * 2**attempt)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()  # closes the HTTP stream: llama.cpp stops and frees the slot

    def _stream_free(self, request: GenerationRequest) -> Iterator[str]:
        citations = CitationFilter({p.n for p in request.passages})
        guard = (
            AnswerGuard(request.passages, self.settings.answer_support, request.language)
            if self.settings.answer_support
            else None
        )
        for text in self._chunks(self.messages(request), cancel=request.cancel):
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

    def _stream_structured(self, request: GenerationRequest, quoted: str = "") -> Iterator[str]:
        """The model fills a JSON schema (verdict, then sentences each citing a passage); each sentence is
        checked against the passage it cites before it is shown, and shown as soon as the next one starts.
        """
        citations = sorted({p.n for p in request.passages})
        guard = AnswerGuard(request.passages, self.settings.answer_support or 0.0, request.language)
        repeats = RepeatFilter(quoted)
        # A summary under quotes is short: fewer tokens to write is the biggest saving on a small CPU.
        shape = answer_schema(citations, 2) if self._hybrid else answer_schema(citations)
        schema = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": shape}}
        raw, shown, verdict_seen = "", 0, False
        # In the request body as is: LangChain's own response_format handling parses (and fails on) streamed JSON.
        for text in self._chunks(self.messages(request, structured=True), cancel=request.cancel, extra_body={"response_format": schema}):
            raw += text
            data = _partial_json(raw)
            if data is None:
                continue
            if not verdict_seen and "sentences" in data:
                verdict_seen = True
                if data.get("answerable") is False:
                    raise PassagesDoNotAnswerError("the model found no answer in the passages")
            done = (data.get("sentences") or [])[:-1]  # the last one may still be growing
            for item in done[shown:]:
                text = repeats.new(self._checked(item, guard, citations))
                if text:
                    yield (" " if repeats.shown > 1 else "") + text
            shown = max(shown, len(done))
        final = _partial_json(raw) or {}
        sentences = final.get("sentences") or []
        if final.get("answerable") is False or not sentences:
            raise PassagesDoNotAnswerError("the model found no answer in the passages")
        for item in sentences[shown:]:
            text = repeats.new(self._checked(item, guard, citations))
            if text:
                yield (" " if repeats.shown > 1 else "") + text
        if repeats.dropped and not repeats.shown:
            return  # every sentence restated a quoted point: the quotes stand alone
        if not guard.kept:
            raise UnsupportedAnswerError(f"no sentence of the model's answer was supported by its passage ({len(guard.dropped)} dropped)")

    @staticmethod
    def _checked(item: object, guard: AnswerGuard, citations: list[int]) -> str:
        """`text [n]` when the sentence holds against the passage it cites, else ""."""
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            return ""
        if len(item["text"]) >= SENTENCE_CHARS:
            return ""  # cut off by the schema's length limit, mid-word: not shown half-written
        n, text = item.get("source"), " ".join(item["text"].split()).strip()
        if n not in citations or not text or not guard.check_cited(text, n):
            return ""
        text = _CITATION_IN_TEXT.sub("", text).rstrip()
        end = text[-1] if text and text[-1] in ".!?…" else ""
        return f"{text[:-1] if end else text} [{n}]{end or '.'}"


class RepeatFilter:
    """Leaves out a written sentence that restates one already shown (a quoted line or an earlier sentence).

    Compares the sentence's words, citations aside, with each shown line: most of them in the same
    order (difflib's ratio) is a repeat. The small model copies its passages, and a summary that
    repeats the quotes just above it is noise.
    """

    THRESHOLD = 0.75

    def __init__(self, quoted: str = "") -> None:
        self.lines = [w for line in quoted.splitlines() if (w := self._words(line))]
        self.shown = self.dropped = 0

    @staticmethod
    def _words(text: str) -> list[str]:
        return re.findall(r"\w+", _CITATION_IN_TEXT.sub("", text).lower())

    def new(self, text: str) -> str:
        """`text` if it says something not yet shown, else ""."""
        words = self._words(text)
        if not words:
            return text
        for line in self.lines:
            if difflib.SequenceMatcher(None, words, line, autojunk=False).ratio() >= self.THRESHOLD or (
                len(words) >= 6 and _contained(words, line)
            ):
                self.dropped += 1
                return ""
        self.lines.append(words)
        self.shown += 1
        return text


def _contained(words: list[str], line: list[str]) -> bool:
    """The sentence is (almost) a stretch of the line: a quoted point cut shorter."""
    match = difflib.SequenceMatcher(None, words, line, autojunk=False).find_longest_match()
    return match.size >= 0.85 * len(words)


def _partial_json(raw: str) -> dict | None:
    """The JSON object streamed so far (unclosed strings and brackets closed), or None before there is one."""
    try:
        data = parse_partial_json(raw.strip()) if raw.strip() else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


FOCUS_UNIT_CHARS = 280
MAX_EARLIER_CHARS = 300
_CITATION_IN_TEXT = re.compile(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]")


BackendFactory = Callable[[Settings, PackagedEmbeddings, "ExtractiveBackend"], AnswerBackend]


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


def make_local_backend(settings: Settings, embeddings: PackagedEmbeddings, extractive: ExtractiveBackend) -> AnswerBackend:
    """llama.cpp in process (xllamacpp) behind the same OpenAI-compatible client as hosted models."""
    from .local_llm import shared_server

    server = shared_server(settings)
    model = _openai_chat_model(settings, server.base_url, server.model_path.stem, "local")

    def readiness() -> None:
        if server.state != "ready":
            raise BackendUnavailableError(f"the local model is {server.state}" + (f" ({server.error})" if server.error else ""))

    gate = GenerationGate(server.slots, settings.queue_size, settings.queue_wait)
    backend = ChatModelBackend("local", model, settings, focus=extractive, gate=gate, readiness=readiness)
    backend.model = server
    return backend


def make_openai_backend(settings: Settings, embeddings: PackagedEmbeddings, extractive: ExtractiveBackend) -> AnswerBackend:
    if not settings.openai_base_url and settings.openai_api_key is None:
        raise BackendUnavailableError(
            "the openai backend is not configured: set MLCAREER_OPENAI_BASE_URL and/or "
            "MLCAREER_OPENAI_API_KEY (or OPENAI_API_KEY)"
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    base_url = settings.openai_base_url or "https://api.openai.com/v1"
    chat_model = _openai_chat_model(settings, base_url, settings.openai_model, key)
    gate = GenerationGate(settings.openai_concurrency, settings.queue_size, settings.queue_wait)
    return ChatModelBackend("openai", chat_model, settings, focus=extractive, gate=gate)


BACKENDS: dict[str, BackendFactory] = {
    "extractive": lambda settings, embeddings, extractive: extractive,
    "local": make_local_backend,
    "openai": make_openai_backend,
}


def make_backend(
    name: str, settings: Settings, embeddings: PackagedEmbeddings, extractive: ExtractiveBackend | None = None
) -> AnswerBackend:
    """The backend `name`; `extractive` (shared with the assistant's fallback) picks what generating ones read."""
    if name not in BACKENDS:
        raise ValueError(f"unknown answer backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name](settings, embeddings, extractive or ExtractiveBackend(embeddings, settings.answer_units))
