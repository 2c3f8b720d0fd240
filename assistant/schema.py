"""The types the assistant hands to its users: Source, Answer and streaming events."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant"]
# answered: the passages answer it; not_covered: in scope, but the sources do not say (the answer says so);
# out_of_scope: not about the ML-engineer career; unsupported_language: neither French nor English.
AnswerStatus = Literal["answered", "not_covered", "out_of_scope", "unsupported_language"]


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
    relevance: float = Field(default=0.0, exclude=True, description="The fused retrieval score that ranked it (internal).")
    chunk_ids: list[str] = Field(
        default_factory=list, exclude=True, description="The index chunks its text joins, when wider than one (internal)."
    )


class Answer(BaseModel):
    """A complete answer; `sources` are numbered as the [n] citations in `text`."""

    question: str
    text: str
    language: Literal["fr", "en"]
    in_scope: bool
    status: AnswerStatus = Field(default="answered", description="Whether and why the question was answered.")
    sources: list[Source]
    backend: str
    query: str = Field(description="The standalone query used for retrieval.")
    notice: str | None = Field(default=None, description="Set when a fallback answered instead.")
    unmentioned: list[str] = Field(
        default_factory=list,
        description="Names the question asks about that its passages do not mention (the answer says so first).",
    )

    @property
    def covered(self) -> bool:
        """The passages answer the question (False: the answer says plainly that the sources do not)."""
        return self.status == "answered"


class QueueStatus(BaseModel):
    """While an answer waits for a busy model: its place in line (1 = next) and the expected wait."""

    position: int
    expected_seconds: float


class AnswerEvent(BaseModel):
    """One step of a streamed answer: sources first, then text deltas (and queue status), then the full answer."""

    kind: Literal["sources", "delta", "status", "done"]
    sources: list[Source] = Field(default_factory=list)
    delta: str = ""
    waiting: QueueStatus | None = None
    answer: Answer | None = None
