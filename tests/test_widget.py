"""The one-tag widget in a real browser: a page on another loopback origin embeds `/widget.js`.

Playwright drives Debian's Chromium (as tests/test_browser.py). The assistant's server and the host
pages are real HTTP servers on 127.0.0.1 (different ports, so different origins).
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant import Assistant, build_index
from assistant.answering.backends import AnswerBackend, GenerationRequest
from assistant.config import Settings
from assistant.serving.api import create_app

from .conftest import ARTICLE, LiveServer, free_port
from .test_browser import ANSWER_TIMEOUT_MS, EVIL_DOCUMENT, _shot, browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.browser]

HOST_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Host page</title>
<style>* {{ color: rgb(255, 0, 0) !important; font-size: 40px !important; }} button {{ display: none !important; }}</style>
</head><body><h1>A site about something else</h1><p>Some text of the host page.</p>
<script src="{assistant}/widget.js" defer></script>
</body></html>"""


class PacedBackend(AnswerBackend):
    """The real backend's answer, a word at a time with a pause, as a model writing it would send it.

    Extractive answers arrive in one or two deltas, which a browser may read in one go; pacing
    makes "the answer appears as it streams" observable without depending on network timing.
    """

    name = "extractive"

    def __init__(self, inner: AnswerBackend, pause: float = 0.03) -> None:
        self.inner, self.pause = inner, pause

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        for piece in self.inner.stream(request):
            for word in re.split(r"(?<=\s)", piece):
                time.sleep(self.pause)
                yield word


class HostPages:
    """A plain HTTP server on its own loopback port: a different web origin from the assistant."""

    def __init__(self, assistant_url: str) -> None:
        pages = {f"/{lang}.html": HOST_PAGE.format(lang=lang, assistant=assistant_url).encode() for lang in ("fr", "en")}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = pages.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, *args: object) -> None:
                pass

        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def evil_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    root = tmp_path_factory.mktemp("widget")
    (root / "docs").mkdir()
    (root / "docs" / "cross-validation.en.md").write_text(EVIL_DOCUMENT, encoding="utf-8")
    build_index(sources=[ARTICLE, root / "docs"], index_dir=root / "index", progress=False)
    return Assistant(settings=Settings(index_dir=root / "index", scope_threshold=0.5))


@pytest.fixture(scope="module")
def sites(evil_assistant: Assistant) -> Iterator[tuple[LiveServer, HostPages, HostPages]]:
    """The assistant's server, an allowed host site and a foreign one (not in MLCAREER_CORS_ORIGINS)."""
    port = free_port()
    allowed, foreign = HostPages(f"http://127.0.0.1:{port}"), HostPages(f"http://127.0.0.1:{port}")
    settings = evil_assistant.settings.model_copy(update={"cors_origins": [allowed.origin]})
    server = LiveServer(create_app(evil_assistant, settings, with_ui=False), port=port)
    try:
        yield server, allowed, foreign
    finally:
        server.stop()
        allowed.stop()
        foreign.stop()


def _page(browser: Any, url: str) -> tuple[Any, Any]:  # noqa: F811 - the fixture's value
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url, wait_until="load")
    page.wait_for_selector("[data-mlcareer-widget] .launcher")
    return context, page


def _active_id(page: Any) -> str | None:
    return page.evaluate("() => document.querySelector('[data-mlcareer-widget]').shadowRoot.activeElement?.id ?? null")


def test_a_page_on_another_origin_gets_a_working_isolated_widget(browser: Any, sites, evil_assistant: Assistant):  # noqa: F811
    server, allowed, _ = sites
    context, page = _page(browser, f"{allowed.origin}/fr.html")
    try:
        launcher = page.locator("[data-mlcareer-widget] .launcher")
        # The host page's `button { display: none }` and `* { color: red }` do not reach the widget.
        assert launcher.is_visible()
        assert launcher.get_attribute("aria-expanded") == "false" and "assistant" in launcher.get_attribute("aria-label")
        # Keyboard only: focus the button, Enter opens the dialog with the focus in the question box.
        launcher.focus()
        page.keyboard.press("Enter")
        panel = page.locator("[data-mlcareer-widget] .panel")
        assert panel.is_visible() and launcher.get_attribute("aria-expanded") == "true"
        assert panel.get_attribute("role") == "dialog" and _active_id(page) == "mlc-input"
        style = page.locator("[data-mlcareer-widget] .intro").evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).fontSize]")
        assert style[0] != "rgb(255, 0, 0)" and style[1] != "40px"
        assert "machine learning" in page.locator("[data-mlcareer-widget] .intro").inner_text()  # the page's language: French

        page.evaluate(
            """() => {
              const log = document.querySelector('[data-mlcareer-widget]').shadowRoot.querySelector('.log');
              window.__lengths = [];
              new MutationObserver(() => {
                const bots = log.querySelectorAll('.bot .body');
                const last = bots[bots.length - 1];
                if (last) window.__lengths.push(last.textContent.length);
              }).observe(log, {subtree: true, childList: true, characterData: true});
            }"""
        )
        original, evil_assistant.backend = evil_assistant.backend, PacedBackend(evil_assistant.backend)
        try:
            page.keyboard.type("Comment fonctionne la validation croisée stratifiée ?")
            page.keyboard.press("Enter")
            page.wait_for_selector("[data-mlcareer-widget] .bot .card", timeout=ANSWER_TIMEOUT_MS)
        finally:
            evil_assistant.backend = original
        lengths = page.evaluate("() => window.__lengths")
        assert len(set(lengths)) >= 3, f"the answer should appear progressively, saw lengths {lengths}"
        answer = page.locator("[data-mlcareer-widget] .bot .body").last.inner_text()
        cards = page.locator("[data-mlcareer-widget] .bot .card").all_inner_texts()
        assert "[1]" in answer and cards and cards[0].startswith("[1]")
        # The document's HTML and scripts arrive as text and stay text: nothing ran, nothing was injected.
        assert "<script>" in answer or "<img" in answer or "<svg" in answer or any("<img" in c for c in cards)
        flags = page.evaluate("() => Object.keys(window).filter(k => k.startsWith('__xss'))")
        assert flags == []
        # Inside the conversation (the launcher's own icon aside), no element came from the server.
        injected = page.evaluate("() => document.querySelector('[data-mlcareer-widget]').shadowRoot.querySelector('.log').querySelectorAll('script, img, svg, iframe').length")
        assert injected == 0
        _shot(page, "widget-answer.png")
        # Escape closes the dialog and gives the focus back to the button.
        page.keyboard.press("Escape")
        assert not panel.is_visible() and launcher.get_attribute("aria-expanded") == "false"
        assert _active_id(page) == "mlc-launcher"
    finally:
        context.close()


def test_a_foreign_origin_is_refused(browser: Any, sites):  # noqa: F811
    server, _, foreign = sites
    context, page = _page(browser, f"{foreign.origin}/en.html")
    try:
        page.locator("[data-mlcareer-widget] .launcher").click()
        page.locator("[data-mlcareer-widget] textarea").fill("What skills does an ML engineer need?")
        page.locator("[data-mlcareer-widget] textarea").press("Enter")
        error = page.locator("[data-mlcareer-widget] .bot .body.error")
        error.wait_for(timeout=60_000)
        assert "may not use the assistant" in error.inner_text()
    finally:
        context.close()
    # The server refuses such a request outright, not only the browser's reading of it.
    body = {"messages": [{"role": "user", "content": "What skills does an ML engineer need?"}]}
    refused = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers={"Origin": foreign.origin}, timeout=60)
    assert refused.status_code == 403 and "MLCAREER_CORS_ORIGINS" in refused.json()["error"]["message"]
    allowed = httpx.post(f"{server.url}/v1/chat/completions", json=body, headers={"Origin": sites[1].origin}, timeout=60)
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == sites[1].origin


def test_widget_script_is_served_as_javascript(sites):
    server, _, _ = sites
    response = httpx.get(f"{server.url}/widget.js", timeout=30)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert "attachShadow" in response.text and "innerHTML" not in response.text
