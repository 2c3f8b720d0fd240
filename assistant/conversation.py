"""Turning a follow-up into a standalone query, and validating questions and history."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import InvalidQuestionError
from .prompts import EMPTY_QUESTION, too_long
from .schema import Role

_WORD = re.compile(r"\w+", re.UNICODE)
# Openers that mark a question as leaning on the previous one ("and for deep learning?").
_FOLLOW_UP_OPENERS = (
    "and ", "what about", "how about", "also", "same ", "more ", "any ", "those", "these", "it ", "that ",
    "et ", "et pour", "aussi", "pareil", "idem", "plus ", "donne-moi", "donne moi", "des ", "ces ", "ça ",
    "ca ", "cela", "lesquel", "quels sont-ils", "et si",
)
SHORT_QUESTION_WORDS = 5
MAX_BORROWED_CHARS = 500


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


def condense_question(question: str, history: Sequence[tuple[Role, str]]) -> str:
    """A standalone retrieval query: a short or follow-up question borrows the previous user turn.

    Rule (used when no LLM rewrites the question): a question of at most five words, or one
    that opens like a follow-up ("and for...", "et pour...", "donne-moi..."), is prefixed with
    the last user question, so its topic carries over.
    """
    previous = next((text for role, text in reversed(history) if role == "user"), None)
    if not previous:
        return question
    lowered = question.lower().lstrip()
    if len(_WORD.findall(question)) <= SHORT_QUESTION_WORDS or lowered.startswith(_FOLLOW_UP_OPENERS):
        # Only the end of a long earlier turn: the query is embedded whole, and cost grows with length.
        return f"{previous[-MAX_BORROWED_CHARS:]} {question}"
    return question
