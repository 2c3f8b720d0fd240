"""Who may call the API: the API key, and which web origins may call it from a browser.

One implementation for every surface (FastAPI routes, the MCP endpoint, the widget's requests),
so a key or origin rule can never hold on one and not on another.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from ..config import Settings
from .api_models import error_body

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]

MISSING_KEY = "missing or wrong API key: send `Authorization: Bearer <key>`"
FOREIGN_ORIGIN = (
    "this web origin may not call the API: add it to MLCAREER_CORS_ORIGINS (a JSON list, e.g. "
    '["https://example.org"]) on the assistant\'s server'
)
# Prefixes of the routes that answer programs, not the web chat's own page.
API_PREFIXES = ("/v1/", "/api/", "/mcp")


def key_is_valid(authorization: str | None, settings: Settings) -> bool:
    """True when no key is configured, or the header carries it (compared in constant time)."""
    if settings.api_key is None:
        return True
    scheme, _, token = (authorization or "").partition(" ")
    expected = settings.api_key.get_secret_value().encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)


def origin_is_allowed(origin: str | None, host: str | None, settings: Settings) -> bool:
    """No Origin (not a browser, or same-origin GET), the page's own origin, or a configured one."""
    if not origin:
        return True
    if "*" in settings.cors_origins or origin in settings.cors_origins:
        return True
    return bool(host) and urlsplit(origin).netloc == host


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _refuse(send: Callable[[dict], Awaitable[None]], status: int, message: str, type_: str, code: str) -> None:
    body = json.dumps(error_body(message, type_, code)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class OriginGuard:
    """Refuses (403) API requests a browser sends from a web origin that is not allowed.

    CORS alone only stops a foreign page from reading the answer; the request would still be
    served. Preflights (OPTIONS) pass through to the CORS middleware, which answers them.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") != "OPTIONS"
            and str(scope.get("path", "")).startswith(API_PREFIXES)
            and not origin_is_allowed(_header(scope, b"origin"), _header(scope, b"host"), self.settings)
        ):
            await _refuse(send, 403, FOREIGN_ORIGIN, "permission_error", "origin_not_allowed")
            return
        await self.app(scope, receive, send)


class KeyGuard:
    """The API key in front of a plain ASGI app (the MCP endpoint), as FastAPI routes check it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] == "http" and not key_is_valid(_header(scope, b"authorization"), self.settings):
            await _refuse(send, 401, MISSING_KEY, "authentication_error", "invalid_api_key")
            return
        await self.app(scope, receive, send)
