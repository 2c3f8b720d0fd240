"""The types the assistant hands to its users: Source, Answer and streaming events."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant"]


class Source(BaseModel):
    """A passage behind an answer or a search result; `n` is its citation number [n]."""

    n: int = Field(description="Citation number as used in the answer text, from 1.")
    id: str
    text: str
    score: float = Field(description="Cosine similarity between the question and the passage.")
    title: str
    section: str
    source: str = Field(description="File path or URL the passage comes from.")
    lang: str
    url: str | None = Field(default=None, description="Link to the original reference, when known.")


class Answer(BaseModel):
    """A complete answer; `sources` are numbered as the [n] citations in `text`."""

    question: str
    text: str
    language: Literal["fr", "en"]
    in_scope: bool
    covered: bool = Field(
        default=False, description="The passages answer the question (False: the answer says the sources do not cover it)."
    )
    sources: list[Source]
    backend: str
    query: str = Field(description="The standalone query used for retrieval.")
    notice: str | None = Field(default=None, description="Set when a fallback answered instead.")


class AnswerEvent(BaseModel):
    """One step of a streamed answer: sources first, then text deltas, then the full answer."""

    kind: Literal["sources", "delta", "done"]
    sources: list[Source] = Field(default_factory=list)
    delta: str = ""
    answer: Answer | None = None
