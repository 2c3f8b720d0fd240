"""The assistant as an MCP server (official `mcp` SDK): tools `ask` and `search`, documents as resources.

Served over stdio by `mlcareer mcp` (Claude Desktop, VS Code, Cursor start it as a subprocess)
and over streamable HTTP at `/mcp` of the API server, behind the same API key. The server is
stateless over HTTP (no session to pin to one replica), and every resource is read from the
index being served, so a rebuilt index shows without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ResourceError, ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import Resource, ToolAnnotations
from pydantic import BaseModel, Field

from ..chat import Assistant
from ..config import Settings
from ..documents import CorpusDocument
from ..errors import AssistantError
from ..schema import Source

log = logging.getLogger(__name__)
T = TypeVar("T")
RunBlocking = Callable[[Callable[[], T]], Awaitable[T]]

INSTRUCTIONS = (
    "Knowledge about the machine-learning-engineer career, in French and English: the skills that matter "
    "(maths, programming, ML and deep learning, data, software engineering, MLOps, communication), how to learn "
    "them, education paths, interviews, job search, pay research, specialisations and career progression. "
    "Use `ask` for a cited answer to a user's question, `search` to get raw passages to reason over, and read "
    "`mlcareer://documents/...` resources to see a cited source whole."
)
ASK_DESCRIPTION = (
    "Answer a question about the machine-learning-engineer career (skills, learning paths, resources, education, "
    "interviews, job search, pay, specialisations, day-to-day work) from a curated bilingual knowledge base. "
    "Use it when the user asks for career or learning advice in this field. Returns the answer in the question's "
    "language (French or English) with [n] citations, the numbered sources (title, section, link), and `covered`: "
    "false means the knowledge base does not answer the question, so do not present the answer as sourced. "
    "Pass earlier turns in `history` for follow-up questions."
)
SEARCH_DESCRIPTION = (
    "Search the ML-career knowledge base (hybrid semantic and keyword search) and return the k most relevant "
    "passages with their titles, sections, languages and relevance scores. Use it when you want to read the "
    "sources yourself rather than get a written answer."
)
DOCUMENT_URI = "mlcareer://documents/{doc_id}"


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class SourceInfo(BaseModel):
    """A cited passage: the [n] of the answer text, where it comes from and the passage itself."""

    n: int
    title: str
    section: str
    source: str
    lang: str
    url: str | None = None
    document: str = Field(description="URI of the whole document (an MCP resource).")
    score: float
    text: str


class AskResult(BaseModel):
    answer: str
    covered: bool = Field(description="False when the knowledge base does not answer the question.")
    status: str = Field(description="answered, not_covered, out_of_scope or unsupported_language.")
    in_scope: bool = Field(description="False when the question is not about the ML-engineer career at all.")
    language: str
    sources: list[SourceInfo]
    notice: str | None = None
    unmentioned: list[str] = Field(
        default_factory=list, description="Names the question asks about that its passages do not mention (the answer says so)."
    )


class SearchResult(BaseModel):
    query: str
    results: list[SourceInfo]


async def _in_thread(fn: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(fn)


class AssistantMCP(FastMCP):
    """FastMCP whose resource list is the served index's documents, read fresh at every request."""

    def __init__(self, assistant: Assistant, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assistant = assistant

    async def list_resources(self) -> list[Resource]:
        return [
            Resource(
                uri=doc.uri,  # type: ignore[arg-type]
                name=doc.id,
                title=doc.title,
                description=f"{doc.title} ({doc.lang}; topics: {', '.join(doc.topics) or '-'}; source: {doc.source})",
                mimeType="text/markdown",
            )
            for doc in self.assistant.documents()
        ]


def _document_text(doc: CorpusDocument) -> str:
    header = [f"title: {doc.title}", f"lang: {doc.lang}", f"topics: [{', '.join(doc.topics)}]", f"source: {doc.source}"]
    if doc.url:
        header.append(f"url: {doc.url}")
    return "---\n" + "\n".join(header) + "\n---\n" + doc.text + "\n"


def create_mcp_server(assistant: Assistant, settings: Settings, run_blocking: RunBlocking | None = None) -> AssistantMCP:
    """The MCP server over this assistant; `run_blocking` runs answers in the API's bounded pool."""
    run = run_blocking or _in_thread
    loopback = settings.host in ("127.0.0.1", "localhost", "::1")
    # DNS-rebinding protection as the SDK recommends for a loopback server; behind a proxy the
    # Host header is the proxy's business, and the API key guards the endpoint.
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=loopback,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *settings.cors_origins],
    )
    server = AssistantMCP(
        assistant,
        name="mlcareer-assistant",
        instructions=INSTRUCTIONS,
        streamable_http_path="/mcp",
        stateless_http=True,
        json_response=True,
        transport_security=security,
        log_level="WARNING",
    )

    def source_info(source: Source) -> SourceInfo:
        doc = assistant.document_for(source.source)
        return SourceInfo(
            n=source.n,
            title=source.title,
            section=source.section,
            source=source.source,
            lang=source.lang,
            url=source.url,
            document=doc.uri if doc else "",
            score=source.score,
            text=source.text,
        )

    @server.tool(name="ask", description=ASK_DESCRIPTION, annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False))
    async def ask(
        question: Annotated[str, Field(description="The user's question, in French or English.", min_length=1)],
        history: Annotated[list[Turn] | None, Field(description="Earlier turns, oldest first, for follow-ups.")] = None,
    ) -> AskResult:
        turns = [(t.role, t.content) for t in history or []]
        try:
            answer = await run(lambda: assistant.ask(question, history=turns))
        except AssistantError as exc:
            raise ToolError(str(exc)) from exc
        return AskResult(
            answer=answer.text,
            covered=answer.covered,
            status=answer.status,
            in_scope=answer.in_scope,
            language=answer.language,
            sources=[source_info(s) for s in answer.sources],
            notice=answer.notice,
            unmentioned=answer.unmentioned,
        )

    @server.tool(name="search", description=SEARCH_DESCRIPTION, annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=False))
    async def search(
        query: Annotated[str, Field(description="What to look for, in French or English.", min_length=1)],
        k: Annotated[int, Field(description="How many passages to return.", ge=1, le=20)] = 5,
    ) -> SearchResult:
        try:
            hits = await run(lambda: assistant.search(query, k=k))
        except AssistantError as exc:
            raise ToolError(str(exc)) from exc
        return SearchResult(query=query, results=[source_info(s) for s in hits])

    @server.resource(DOCUMENT_URI, name="document", description="A document of the knowledge base, whole.", mime_type="text/markdown")
    def read_document(doc_id: str) -> str:
        doc = next((d for d in assistant.documents() if d.id == doc_id), None)
        if doc is None:
            raise ResourceError(f"no document {doc_id!r}: list the resources to see the documents' URIs")
        return _document_text(doc)

    return server


def run_stdio(settings: Settings) -> None:
    """`mlcareer mcp`: serve MCP on stdin/stdout until the client closes it (logs go to stderr)."""
    assistant = Assistant(settings=settings)
    create_mcp_server(assistant, settings).run("stdio")
