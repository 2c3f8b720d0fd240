"""The MCP server, driven by the official SDK's own client over stdio and over streamable HTTP.

stdio runs `python -m assistant mcp` as a subprocess, as Claude Desktop or VS Code would; HTTP
talks to `/mcp` of a real uvicorn server on 127.0.0.1, behind the API key.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from assistant import Assistant
from assistant.config import PROJECT_ROOT
from assistant.serving.api import create_app

from .conftest import LiveServer

pytestmark = pytest.mark.integration
KEY = "mcp-test-key"


@pytest.fixture(scope="module")
def server(article_assistant: Assistant) -> Iterator[LiveServer]:
    settings = article_assistant.settings.model_copy(update={"api_key": SecretStr(KEY)})
    live = LiveServer(create_app(article_assistant, settings, with_ui=False))
    try:
        yield live
    finally:
        live.stop()


@asynccontextmanager
async def http_session(url: str, key: str | None = KEY):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(headers=headers, timeout=120) as client:
        async with streamable_http_client(f"{url}/mcp", http_client=client) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session


@asynccontextmanager
async def stdio_session(index_dir: Path):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "assistant", "mcp", "--index-dir", str(index_dir)],
        cwd=str(PROJECT_ROOT),
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def exercise(session: ClientSession) -> dict[str, Any]:
    """Everything a client does: list and call both tools, read a cited document, send bad arguments."""
    tools = {t.name: t for t in (await session.list_tools()).tools}
    search = await session.call_tool("search", {"query": "quelles compétences en mathématiques ?", "k": 2})
    ask = await session.call_tool("ask", {"question": "Quelles compétences en programmation faut-il ?"})
    follow_up = await session.call_tool(
        "ask",
        {
            "question": "et pour le déploiement ?",
            "history": [{"role": "user", "content": "Quelles compétences en programmation ?"}, {"role": "assistant", "content": "Python."}],
        },
    )
    resources = (await session.list_resources()).resources
    cited = ask.structuredContent["sources"][0]["document"]
    document = await session.read_resource(cited)
    bad_k = await session.call_tool("search", {"query": "MLOps", "k": 0})
    missing = await session.call_tool("ask", {})
    empty = await session.call_tool("ask", {"question": "   "})
    return {
        "tools": tools,
        "search": search,
        "ask": ask,
        "follow_up": follow_up,
        "resources": resources,
        "document": document,
        "errors": [bad_k, missing, empty],
    }


def check(found: dict[str, Any]) -> None:
    tools = found["tools"]
    assert set(tools) == {"ask", "search"}
    for tool in tools.values():
        assert len(tool.description) > 80 and "Use it when" in tool.description  # tells a calling model when to use it
    assert tools["ask"].inputSchema["required"] == ["question"]

    search = found["search"]
    assert not search.isError
    results = search.structuredContent["results"]
    assert len(results) == 2 and all(r["text"] and r["score"] > 0 for r in results)
    assert "Math" in results[0]["section"]

    ask = found["ask"].structuredContent
    assert not found["ask"].isError and ask["language"] == "fr" and ask["in_scope"] is True and ask["covered"] is True
    assert ask["sources"] and all(s["document"].startswith("mlcareer://documents/") for s in ask["sources"])
    assert "[1]" in ask["answer"]
    assert any("Déploiement" in s["section"] for s in found["follow_up"].structuredContent["sources"])

    uris = {str(r.uri) for r in found["resources"]}
    assert ask["sources"][0]["document"] in uris
    text = found["document"].contents[0].text
    assert text.startswith("---\ntitle: ") and "lang: fr" in text and "## " in text
    assert ask["sources"][0]["text"][:60] in text

    for result in found["errors"]:
        assert result.isError and result.content[0].text  # a tool error with a message, not a crash


def test_stdio_server_with_the_sdk_client(article_index: Path):
    found = anyio.run(lambda: _run(stdio_session(article_index)))
    check(found)


async def _run(session_cm) -> dict[str, Any]:  # noqa: ANN001
    async with session_cm as session:
        return await exercise(session)


def test_streamable_http_server_with_the_sdk_client(server: LiveServer):
    found = anyio.run(lambda: _run(http_session(server.url)))
    check(found)


def test_http_mcp_refuses_a_missing_or_wrong_key(server: LiveServer):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    for auth in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.post(f"{server.url}/mcp", json=body, headers={**headers, **auth}, timeout=30)
        assert response.status_code == 401
        assert "API key" in response.json()["error"]["message"]

    async def wrong_key() -> None:
        async with http_session(server.url, key="wrong"):
            pass

    with pytest.raises(BaseException):  # the SDK client gives up on a 401 (inside an exception group)
        anyio.run(wrong_key)
    # The rest of the server is unaffected.
    assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200


def test_langchain_mcp_adapters_load_the_tools(server: LiveServer):
    """What the README's LangGraph example relies on: the tools as LangChain tools."""
    from langchain_mcp_adapters.client import MultiServerMCPClient

    async def run() -> tuple[list[str], Any]:
        client = MultiServerMCPClient(
            {"mlcareer": {"transport": "streamable_http", "url": f"{server.url}/mcp", "headers": {"Authorization": f"Bearer {KEY}"}}}
        )
        tools = {t.name: t for t in await client.get_tools()}
        result = await tools["search"].ainvoke({"query": "travail d'équipe", "k": 1})
        return sorted(tools), result

    names, result = anyio.run(run)
    assert names == ["ask", "search"]
    payload = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
    assert "quipe" in payload
