"""Request and response bodies of the HTTP API (OpenAI-compatible where it says so)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..schema import AnswerStatus, Source


class SourceOut(BaseModel):
    """A passage as the CLI's `--json` prints it, plus its citation number and link."""

    id: str
    text: str
    score: float
    title: str
    section: str
    source: str
    lang: str
    n: int
    url: str | None = None

    @classmethod
    def of(cls, source: Source) -> "SourceOut":
        return cls(**source.model_dump())  # the internal `relevance` is excluded from the dump


class HistoryTurn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, description="The question, in French or English.")
    history: list[HistoryTurn] = Field(default_factory=list, description="Earlier turns, oldest first.")


class AskResponse(BaseModel):
    question: str
    answer: str
    language: Literal["fr", "en"]
    in_scope: bool
    covered: bool = Field(description="False when the sources do not answer the question (the answer says so).")
    status: AnswerStatus = Field(description="answered, not_covered, out_of_scope or unsupported_language.")
    sources: list[SourceOut]
    backend: str
    notice: str | None = None
    unmentioned: list[str] = Field(default_factory=list, description="Names the question asks about that its passages do not mention (the answer says so first).")


class SearchRequest(BaseModel):
    query: str = Field(min_length=1)
    k: int = Field(default=5, ge=1, le=50)


class SearchResponse(BaseModel):
    query: str
    results: list[SourceOut]


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions request; fields this assistant does not use are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = "mlcareer-assistant"
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class ResponseMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ResponseMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    sources: list[SourceOut] = Field(description="Passages behind the answer, numbered as its [n] citations.")
    in_scope: bool
    covered: bool = Field(description="False when the sources do not answer the question (the answer says so).")
    status: AnswerStatus
    language: Literal["fr", "en"]
    backend: str
    notice: str | None = None
    unmentioned: list[str] = Field(default_factory=list, description="Names the question asks about that its passages do not mention (the answer says so first).")


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "mlcareer"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_body(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return ErrorResponse(error=ErrorDetail(message=message, type=type_, code=code)).model_dump()
