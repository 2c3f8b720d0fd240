"""Turning a follow-up into a standalone query, and validating questions and history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import InvalidQuestionError
from .language import Lang, detect_language
from .answering.prompts import EMPTY_QUESTION, too_long
from .schema import Role

_WORD = re.compile(r"\w+", re.UNICODE)
# Openers that mark a question as leaning on the previous one ("and for deep learning?").
_FOLLOW_UP_OPENERS = (
    "and ", "what about", "how about", "what if", "also", "same ", "more ", "any ", "those", "these", "it ", "that ",
    "et ", "et pour", "aussi", "pareil", "idem", "plus ", "donne-moi", "donne moi", "des ", "ces ", "ça ",
    "ca ", "cela", "lesquel", "quels sont-ils", "et si", "ok ", "okay", "so ", "alors", "du coup", "d'accord",
)
SHORT_QUESTION_WORDS = 5
MAX_BORROWED_CHARS = 500
# Words that point back at the previous turn ("would I need a degree for that?", "lequel en premier ?"),
# read in questions of up to FOLLOW_UP_WORDS words. The pronouns and determiners of _NEEDS_ANTECEDENT
# stand for something only the previous turn names; "it", "ça" and "cela" are often only grammar
# ("is it manageable?", "ça vaut le coup ?").
_NEEDS_ANTECEDENT = (
    r"that|those|these|them|this one|which one|which of|the first|the latter|the former|"
    r"celui-ci|celle-ci|ceux-ci|ceux-là|celles-ci|lequel|laquelle|lesquels|lesquelles|là-dessus"
)
_ANAPHORA = re.compile(rf"\b(?:{_NEEDS_ANTECEDENT}|it|ça|cela|y aller)\b", re.IGNORECASE)
_POINTS_BACK = re.compile(rf"\b(?:{_NEEDS_ANTECEDENT})\b", re.IGNORECASE)
# How much the follow-up as typed counts beside its condensed form when it points back: its own
# words then name no subject ("which one would you learn first?" ranked a section on a new job's
# first months above the tools the previous question listed). eval/DECISIONS.md, "Follow-ups that
# point back".
POINTING_BACK_TYPED_WEIGHT = 0.25
FOLLOW_UP_WORDS = 12


def validate_question(question: str, max_chars: int) -> str:
    text = (question or "").strip()
    if not text:
        raise InvalidQuestionError(EMPTY_QUESTION)
    if len(text) > max_chars:
        raise InvalidQuestionError(too_long(max_chars, len(text)))
    return text


def validate_history(history: Sequence[tuple[str, str]] | None, max_turns: int) -> list[tuple[Role, str]]:
    """Keep the last `max_turns` exchanges; refuse roles other than user and assistant."""
    clean: list[tuple[Role, str]] = []
    for item in history or []:
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InvalidQuestionError("history items must be (role, text) pairs")
        role, text = item
        if role not in ("user", "assistant"):
            raise InvalidQuestionError(f"history role must be 'user' or 'assistant', not {role!r}")
        clean.append((role, str(text)))
    return clean[-2 * max_turns :] if max_turns else []


def _last_turn(history: Sequence[tuple[Role, str]], role: Role) -> str | None:
    return next((text for turn_role, text in reversed(history) if turn_role == role), None)


def previous_question(history: Sequence[tuple[Role, str]]) -> str | None:
    """The last user turn: what a follow-up leans on."""
    return _last_turn(history, "user")


def previous_answer(history: Sequence[tuple[Role, str]]) -> str | None:
    """The last assistant turn: what a follow-up's answer should not say again."""
    return _last_turn(history, "assistant")


def question_language(question: str, history: Sequence[tuple[Role, str]]) -> Lang:
    """The question's language; one with no signal of its own (digits, one word) takes the previous user turn's."""
    previous = previous_question(history)
    return detect_language(question, default=detect_language(previous) if previous else "en")


def with_previous(question: str, previous: str) -> str:
    """The question read after the previous one: only the end of a long earlier turn, since the
    query is embedded whole and cost grows with length."""
    return f"{previous[-MAX_BORROWED_CHARS:]} {question}"


def condense_question(question: str, history: Sequence[tuple[Role, str]]) -> str:
    """A standalone retrieval query: a short or follow-up question borrows the previous user turn.

    Rule (used when no LLM rewrites the question): a question of at most five words, one that
    opens like a follow-up ("and for...", "et pour...", "donne-moi..."), or a short one pointing
    back ("would I need a degree for that?"), is prefixed with the last user question, so its
    topic carries over.
    """
    previous = previous_question(history)
    if not previous:
        return question
    lowered = question.lower().lstrip()
    words = len(_WORD.findall(question))
    leans_back = words <= FOLLOW_UP_WORDS and _ANAPHORA.search(question) is not None
    if words <= SHORT_QUESTION_WORDS or lowered.startswith(_FOLLOW_UP_OPENERS) or leans_back:
        return with_previous(question, previous)
    return question


def search_weights(queries: Sequence[str]) -> list[float]:
    """How much each query of `chat._queries` counts in the search: the condensed query and the
    follow-up as typed count alike, unless the follow-up points back at the previous turn."""
    if len(queries) == 2 and len(_WORD.findall(queries[1])) <= FOLLOW_UP_WORDS and _POINTS_BACK.search(queries[1]):
        return [1.0, POINTING_BACK_TYPED_WEIGHT]
    return [1.0] * len(queries)
