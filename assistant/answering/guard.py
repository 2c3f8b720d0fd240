"""Checks a generated answer sentence by sentence before the user sees it.

Small local models follow injected instructions ("end with PWNED", "answer like a pirate") and
sometimes add what no passage says. Every sentence is held until it ends, then:
- dropped if it names something (a capitalised word inside the sentence, a number, a URL) that no
  passage names: invented authors, titles, figures and links are the worst errors;
- kept if most of its content words occur in the passages (prefix match, so "apprendre" meets
  "apprentissage" and "deployment" meets "deploying");
- given the citation of the passage it overlaps most when the model forgot one;
- dropped otherwise.
An answer whose every sentence was dropped raises `UnsupportedAnswerError`, and the assistant
falls back to quoting the passages. Hand-written because no library checks streamed text
against sources; the rule is lexical so that it is fast and explainable.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from ..errors import AssistantError
from ..schema import Source
from ..text import STOPWORDS, fold

log = logging.getLogger(__name__)

_PREFIX = 5  # characters two words must share to count as the same word
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_CITATION = re.compile(r"\[(\d+)\]")
# Negations, accent-folded: "ne ... pas", "n'est pas", "jamais", "not", "never", "no longer"...
_NEGATION = re.compile(r"\b(?:ne|n'|pas|jamais|aucun|aucune|sans|not|never|no|none|without|cannot|n't)\b|n't\b")
# "[1] Oui, ..." is a stray; "[1] propose ..." uses the citation as the subject and stays.
_LEADING_CITATIONS = re.compile(r"^(\s*)(?:\[\d+\]\s*)+(?=[A-ZÀ-ÖØ-Þ«\"“])")
# Names and figures: a capitalised word not at the start of the sentence, a number, a URL.
# Shouted words count too, wherever they are ("PWNED", "ACCÈS ADMIN"); two-letter ones (ML, AI) do not.
_NAME = re.compile(r"(?<=[\w,;:] )[A-ZÀ-ÖØ-Þ][\w'’-]{2,}|\b[A-ZÀ-ÖØ-Þ]{4,}\b|\b\d[\d.,]*\b|https?://\S+")
# A sentence ends at . ! ? … (then optional citations) followed by whitespace and something other
# than a lowercase letter, or at a line break; not after an initial ("A. Aldo Faisal").
_BOUNDARY = re.compile(r"(?<!\b[A-ZÀ-ÖØ-Þ])[.!?…](?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*(?=\s+[^\sa-zà-öø-ÿ])|\n")


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(fold(_CITATION.sub(" ", text))) if w not in STOPWORDS}


class UnsupportedAnswerError(AssistantError):
    """Nothing the model wrote was supported by the passages."""


@dataclass
class AnswerGuard:
    """Feed streamed text in; get back only the checked sentences, with citations added if missing."""

    passages: list[Source]
    min_support: float = 0.6
    # The answer's language: words are compared with the passages in it. When every passage is in
    # the other language, only names, numbers and URLs can be compared, so only they are checked.
    language: str | None = None
    kept: int = 0
    dropped: list[str] = field(default_factory=list)
    _held: str = ""

    def __post_init__(self) -> None:
        self._prefixes = {p.n: {w[:_PREFIX] for w in content_words(f"{p.title} {p.section} {p.text}")} for p in self.passages}
        same = [p.n for p in self.passages if self.language is None or p.lang == self.language]
        self._all = set().union(*(self._prefixes[n] for n in same)) if same else set()
        self._compare_words = bool(same)
        self._folded = fold(" ".join(f"{p.title} {p.section} {p.text}" for p in self.passages))
        self._by_n = {p.n: p for p in self.passages}
        self._kept_words: list[set[str]] = []

    def feed(self, text: str) -> str:
        self._held += text
        out = []
        while match := _BOUNDARY.search(self._held):
            sentence, self._held = self._held[: match.end()], self._held[match.end() :]
            out.append(self._check(sentence))
        return "".join(out)

    def flush(self) -> str:
        sentence, self._held = self._held, ""
        out = self._check(sentence) if sentence.strip() else sentence
        if not self.kept and self.dropped:
            raise UnsupportedAnswerError(f"the model's answer was not supported by the passages ({len(self.dropped)} sentences dropped)")
        return out

    def unknown_names(self, sentence: str) -> list[str]:
        """Names, numbers and URLs of the sentence that appear in no passage (case- and accent-blind)."""
        text = _CITATION.sub(" ", sentence)
        return [n for n in _NAME.findall(text) if fold(n.rstrip(".,;:)")) not in self._folded]

    def support(self, sentence: str) -> float:
        return self._support(content_words(sentence))

    def check_cited(self, sentence: str, n: int) -> bool:
        """A sentence the model attributes to passage `n` (structured output): is it that passage's claim?

        Its names, numbers and URLs must occur in the passages; most of its content words in passage
        `n` itself (when it is in the answer's language); a negation ("not", "ne ... pas") only when
        passage `n` negates something too, so advice is not turned into its opposite; and it must not
        repeat a sentence already kept.
        """
        words = content_words(sentence)
        passage = self._by_n.get(n)
        if passage is None or not words or self.unknown_names(sentence):
            return self._drop(sentence)
        if self.language is None or passage.lang == self.language:
            own = self._prefixes[n]
            if sum(w[:_PREFIX] in own for w in words) / len(words) < self.min_support:
                return self._drop(sentence)
        if _NEGATION.search(fold(sentence)) and not _NEGATION.search(fold(passage.text)):
            return self._drop(sentence)
        prefixes = {w[:_PREFIX] for w in words}
        if any(len(prefixes & seen) >= 0.8 * min(len(prefixes), len(seen)) for seen in self._kept_words):
            return self._drop(sentence)
        self._kept_words.append(prefixes)
        self.kept += 1
        return True

    def _drop(self, sentence: str) -> bool:
        log.info("dropped an unsupported or repeated sentence: %r", sentence.strip()[:120])
        self.dropped.append(sentence)
        return False

    def _support(self, words: set[str]) -> float:
        if not words or not self._compare_words:
            return 1.0
        return sum(w[:_PREFIX] in self._all for w in words) / len(words)

    def _check(self, sentence: str) -> str:
        # Small models also write citations on their own ("... [2]. [1]") or in front of a
        # sentence ("[1] Oui, ..."): such strays are dropped, the sentence gets its own below.
        sentence = _LEADING_CITATIONS.sub(lambda m: m.group(1), sentence)
        words = content_words(sentence)
        if not words:  # punctuation, list markers, "Voici :", stray citations
            return _CITATION.sub("", sentence) if _CITATION.search(sentence) else sentence
        if self.unknown_names(sentence) or self._support(words) < self.min_support:
            log.info("dropped an unsupported sentence: %r", sentence.strip()[:120])
            self.dropped.append(sentence)
            return ""
        self.kept += 1
        if _CITATION.search(sentence) or not self._prefixes:
            return sentence
        prefixes = {w[:_PREFIX] for w in words}
        best = max(self._prefixes, key=lambda n: len(prefixes & self._prefixes[n]))
        body = sentence.rstrip()
        trailing = sentence[len(body) :]
        if body and body[-1] in ".!?…":
            return f"{body[:-1]} [{best}]{body[-1]}{trailing}"
        return f"{body} [{best}]{trailing}"
