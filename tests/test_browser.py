"""The web chat in a real browser: Playwright driving Debian's Chromium against `python app.py`.

Screenshots go to test-artifacts/. Skipped when Chromium or Playwright is missing, unless
MLCAREER_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium) turns that into a failure.
"""

from __future__ import annotations

import json
import re
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import Assistant, build_index
from assistant.serving.api import create_app
from assistant.answering.backends import AnswerBackend, GenerationRequest

from .app_process import ARTIFACTS, running_app
from .conftest import ARTICLE, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANSWER_TIMEOUT_MS = 120_000  # a 2-core machine embedding passage sentences while it warms up

# A finished answer is an .mlc-answer with its footer ("Answered by ...").
DONE = "#mlc-chat .mlc-answer .mlc-footer"

# Records each distinct state of the newest answer, to see it stream (pending -> text -> done).
WATCH_STATES = """() => {
  window.__states = [];
  new MutationObserver(() => {
    const all = document.querySelectorAll('#mlc-chat .mlc-answer');
    const last = all[all.length - 1];
    if (!last) return;
    const state = last.querySelector('.mlc-footer') ? 'done' : last.querySelector('.mlc-pending') ? 'pending' : 'other';
    const key = state + ':' + last.querySelectorAll('.mlc-card').length + ':' + last.querySelector('.mlc-body').textContent.length;
    if (window.__states[window.__states.length - 1] !== key) window.__states.push(key);
  }).observe(document.querySelector('#mlc-chat'), {subtree: true, childList: true, characterData: true});
}"""

ANSWER_FACTS = """(el) => ({
  lang: el.getAttribute('lang'),
  body: el.querySelector('.mlc-body').innerText,
  cites: [...el.querySelectorAll('.mlc-body .mlc-cite')].map((c) => c.textContent),
  footer: el.querySelector('.mlc-footer').innerText,
  notice: el.querySelector('.mlc-notice')?.innerText ?? null,
  cards: [...el.querySelectorAll('.mlc-card')].map((c) => ({
    n: c.querySelector('.mlc-n').textContent,
    title: c.querySelector('.mlc-card-title').textContent,
    section: c.querySelector('.mlc-section')?.textContent ?? '',
    lang: c.querySelector('.mlc-lang').textContent,
    link: c.querySelector('a.mlc-link')?.getAttribute('href') ?? null,
    passage: !!c.querySelector('details.mlc-passage .mlc-passage-text'),
  })),
})"""


def _require_browser() -> None:
    if os.environ.get("MLCAREER_REQUIRE_BROWSER") == "1":
        return
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium (or set MLCAREER_REQUIRE_BROWSER=1 to fail)")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extras)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=120_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback.jsonl"


@pytest.fixture(scope="module")
def shipped_app(browser: Any, feedback_file: Path) -> Iterator[str]:
    """The app as `python app.py` runs it (shipped index), with feedback going to a temporary file."""
    with running_app("browser-app", {"MLCAREER_FEEDBACK_PATH": str(feedback_file)}) as url:
        yield url


EVIL_DOCUMENT = """---
title: "Cross-validation <img src=x onerror=\\"window.__xss_title=1\\"> <script>window.__xss_title2=1</script>"
lang: en
topics: [evaluation]
sources:
  - "javascript:window.__xss_link=1"
---
# Cross-validation for model evaluation <img src=x onerror="window.__xss_heading=1">

Cross-validation estimates how well a model generalises by training on k folds and testing on the held-out fold <script>window.__xss_script=1</script>.
Stratified cross-validation keeps the class balance of the labels in every fold <img src=x onerror="window.__xss_img=1;alert('xss')">.
Nested cross-validation tunes the hyperparameters without leaking the test fold <svg onload="window.__xss_svg=1"></svg> [see more](javascript:window.__xss_md=1) <a href="javascript:window.__xss_a=1" onclick="window.__xss_click=1">details</a>.
Time-series cross-validation uses expanding windows so the model never sees the future <iframe src="javascript:parent.__xss_iframe=1"></iframe> ![tracker](http://127.0.0.1:9/pixel.png).
"""


@pytest.fixture(scope="module")
def evil_app(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose index holds a document full of HTML and script injections."""
    root = tmp_path_factory.mktemp("evil")
    (root / "docs").mkdir()
    (root / "docs" / "cross-validation.en.md").write_text(EVIL_DOCUMENT, encoding="utf-8")
    index_dir = root / "index"
    build_index(sources=[ARTICLE, root / "docs"], index_dir=index_dir, progress=False)
    env = {
        "MLCAREER_INDEX_DIR": str(index_dir),
        "MLCAREER_SCOPE_THRESHOLD": "0.5",
        "MLCAREER_FEEDBACK_PATH": str(root / "feedback.jsonl"),
    }
    with running_app("browser-evil-app", env) as url:
        yield url


def _open(browser: Any, url: str, width: int = 1280, height: int = 900) -> tuple[Any, Any]:
    context = browser.new_context(
        viewport={"width": width, "height": height}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_selector("#mlc-input textarea", state="visible", timeout=120_000)
    return context, page


def _ask(page: Any, question: str) -> dict[str, Any]:
    """Types the question, waits for one more finished answer and returns what that answer shows."""
    before = page.locator(DONE).count()
    page.locator("#mlc-input textarea").fill(question)
    page.locator("#mlc-input textarea").press("Enter")
    page.wait_for_function(f"n => document.querySelectorAll('{DONE}').length > n", arg=before, timeout=ANSWER_TIMEOUT_MS)
    # The textbox comes back once the chat has stored the turn; the next question must wait for it.
    page.wait_for_selector("#mlc-input textarea:not([disabled])", timeout=ANSWER_TIMEOUT_MS)
    return page.locator("#mlc-chat .mlc-answer").last.evaluate(ANSWER_FACTS)


def _set_passages(page: Any, k: int, attempts: int = 3) -> None:
    """Types k in the settings' number box until the slider holds it: Gradio takes the number on
    change, and a fixed pause sometimes let the next question leave with the old value."""
    box = page.locator("#mlc-k input[type='number']")
    for _ in range(attempts):
        box.fill(str(k))
        box.press("Enter")
        box.blur()
        try:
            page.wait_for_function(
                "k => document.querySelector('#mlc-k input[type=range]')?.value === String(k)", arg=k, timeout=5_000
            )
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: type it again
            continue
        page.wait_for_timeout(300)  # the change event reaches the server
        return
    raise AssertionError(f"the passages slider never took the value {k}")


def _feedback_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


def _feedback_lines(path: Path, expected: int, timeout: float = 30) -> list[dict[str, Any]]:
    """The stored feedback once it has at least `expected` lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            if len(lines) >= expected:
                return lines
        time.sleep(0.25)
    raise AssertionError(f"expected {expected} feedback lines in {path}")


def _assert_cited(answer: dict[str, Any], language: str) -> None:
    assert answer["lang"] == language
    assert answer["cards"], "an in-scope answer shows its source cards"
    numbers = [card["n"] for card in answer["cards"]]
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
    assert answer["cites"] and {c.strip("[]") for c in answer["cites"]} <= set(numbers)
    assert all(card["title"] and card["lang"] in ("FR", "EN") and card["passage"] for card in answer["cards"])
    assert all(card["link"] is None or card["link"].startswith(("http://", "https://")) for card in answer["cards"])
    assert "extractive" in answer["footer"]


def _throttle(cdp: Any, rate: int | None) -> None:
    """A slow download (bytes/s) spreads the streamed updates out, so each is rendered (and seen) on its own.

    Use one CDP session per page: each session keeps its own emulation, so a second one cannot lift it.
    """
    conditions = {"offline": False, "latency": 0, "downloadThroughput": rate or -1, "uploadThroughput": -1}
    cdp.send("Network.emulateNetworkConditions", conditions)


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_french_conversation_streams_cites_follows_up_and_stores_a_thumbs_up(
    browser: Any, shipped_app: str, feedback_file: Path
):
    context, page = _open(browser, shipped_app)
    try:
        assert "Quelles compétences" in page.locator("#mlc-chat").inner_text()  # example questions shown
        page.evaluate(WATCH_STATES)
        cdp = context.new_cdp_session(page)
        _throttle(cdp, 16 * 1024)
        first = _ask(page, "Comment apprendre le deep learning ?")
        _throttle(cdp, None)
        states = page.evaluate("window.__states")
        assert states[-1].startswith("done:"), states
        assert any(s.startswith("pending:") for s in states), f"no intermediate state rendered: {states}"
        assert len(states) >= 2
        _assert_cited(first, "fr")
        assert any("deep learning" in (c["title"] + c["section"]).lower() for c in first["cards"])

        # A follow-up that means nothing alone ("donne-moi des livres" is out of scope by itself).
        books = _ask(page, "donne-moi des livres")
        _assert_cited(books, "fr")
        assert any("Livres" in c["title"] for c in books["cards"])
        assert any("deep learning" in (c["title"] + c["section"]).lower() for c in books["cards"])

        page.locator("details.mlc-passage summary").last.click()
        assert page.locator("details.mlc-passage[open] .mlc-passage-text").last.inner_text().strip()
        _shot(page, "chat-desktop-fr.png")

        stored = _feedback_count(feedback_file)
        page.locator("#mlc-chat button[aria-label='Like']").last.click()
        record = _feedback_lines(feedback_file, stored + 1)[-1]
        assert record["rating"] == "up" and record["question"] == "donne-moi des livres"
        assert record["language"] == "fr" and record["backend"] == "extractive"
        assert record["sources"] and record["sources"][0]["n"] == 1 and re.search(r"\[\d\]", record["answer"].splitlines()[0])
        assert "deep learning" in record["query"].lower()  # the standalone query built from the history
    finally:
        context.close()


def test_english_conversation_with_settings_retry_copy_dislike_and_clear(
    browser: Any, shipped_app: str, feedback_file: Path
):
    context, page = _open(browser, shipped_app)
    try:
        page.evaluate(WATCH_STATES)
        deploy = _ask(page, "How do I deploy a machine learning model?")
        _assert_cited(deploy, "en")
        monitor = _ask(page, "and how do I monitor it?")
        _assert_cited(monitor, "en")
        assert any("monitor" in (c["title"] + c["section"]).lower() for c in monitor["cards"])

        # Settings: two passages per answer.
        page.locator("#mlc-settings").get_by_text("Réglages · Settings").click()
        _set_passages(page, 2)
        books = _ask(page, "any good books?")
        assert len(books["cards"]) == 2
        assert any("books" in c["title"].lower() for c in books["cards"])

        # Retry replaces the last answer with a fresh one, the conversation keeps its length.
        answers_before = page.locator(DONE).count()
        page.evaluate("window.__states = []")
        cdp = context.new_cdp_session(page)
        _throttle(cdp, 16 * 1024)
        page.locator("#mlc-chat button[aria-label='Retry']").last.click()
        page.wait_for_function("() => window.__states.some((s) => s.startsWith('pending:'))", timeout=ANSWER_TIMEOUT_MS)
        page.wait_for_function(f"n => document.querySelectorAll('{DONE}').length === n", arg=answers_before, timeout=ANSWER_TIMEOUT_MS)
        page.wait_for_selector("#mlc-input textarea:not([disabled])", timeout=ANSWER_TIMEOUT_MS)
        _throttle(cdp, None)
        retried = page.locator("#mlc-chat .mlc-answer").last.evaluate(ANSWER_FACTS)
        assert len(retried["cards"]) == 2  # the settings still apply

        # Copy gives readable text: the answer and its numbered sources, no markup.
        page.locator("#mlc-chat button[aria-label='Copy message']").last.click()
        page.wait_for_function("navigator.clipboard.readText().then((t) => t.length > 0)", timeout=10_000)
        copied = page.evaluate("navigator.clipboard.readText()")
        assert not copied.startswith("Here is what") and "[1]" in copied and "Sources" in copied
        assert "<div" not in copied and "mlc-" not in copied
        _shot(page, "chat-desktop-en.png")

        stored = _feedback_count(feedback_file)
        page.locator("#mlc-chat button[aria-label='Dislike']").last.click()
        record = _feedback_lines(feedback_file, stored + 1)[-1]
        assert record["rating"] == "down"
        assert record["question"] == "any good books?" and record["language"] == "en"
        assert record["k"] == 2 and len(record["sources"]) == 2
        assert "monitor" in record["query"].lower()  # the conversation's topic went into the search

        page.locator("#mlc-chat button[aria-label='Clear']").click()
        page.wait_for_function("() => document.querySelectorAll('#mlc-chat .mlc-answer').length === 0")
        fresh = _ask(page, "any good books?")
        assert any("books" in c["title"].lower() for c in fresh["cards"])
        stored = _feedback_count(feedback_file)
        page.locator("#mlc-chat button[aria-label='Dislike']").last.click()
        # After Clear nothing of the earlier conversation reaches the search.
        assert _feedback_lines(feedback_file, stored + 1)[-1]["query"] == "any good books?"
    finally:
        context.close()


class SlowBackend(AnswerBackend):
    """Generates like a slow LLM: a piece every 0.3 s, so there is time to press stop."""

    name = "slow"

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        for i in range(60):
            time.sleep(0.3)
            yield f"Piece {i} [1]. "


@pytest.fixture()
def slow_app(browser: Any, article_assistant: Assistant, tmp_path: Path) -> Iterator[str]:
    """An in-process server whose assistant generates slowly (the article index, a fake backend)."""
    settings = article_assistant.settings.model_copy(update={"feedback_path": tmp_path / "feedback.jsonl"})
    original = article_assistant.backend
    article_assistant.backend = SlowBackend()
    server = LiveServer(create_app(article_assistant, settings, with_ui=True))
    try:
        yield server.url
    finally:
        server.stop()
        article_assistant.backend = original


def test_stop_button_cuts_an_answer_short(browser: Any, slow_app: str):
    context, page = _open(browser, slow_app)
    try:
        page.locator("#mlc-input textarea").fill("Quelles compétences en mathématiques faut-il ?")
        page.locator("#mlc-input textarea").press("Enter")
        page.wait_for_function("() => /Piece 2/.test(document.querySelector('#mlc-chat .mlc-answer')?.innerText ?? '')", timeout=ANSWER_TIMEOUT_MS)
        page.locator("#mlc-input .stop-button").click()
        stopped = page.locator("#mlc-chat .mlc-answer .mlc-stopped")
        stopped.wait_for(timeout=30_000)
        assert "Réponse interrompue" in stopped.inner_text()
        page.wait_for_selector("#mlc-input textarea:not([disabled])", timeout=30_000)
        time.sleep(2)  # generation really stopped: nothing more arrives
        answer = page.locator("#mlc-chat .mlc-answer").last
        assert answer.locator(".mlc-footer, .mlc-pending").count() == 0 and "Piece 30" not in answer.inner_text()
        assert answer.locator(".mlc-card").count() > 0  # what was shown stays
        _shot(page, "chat-stopped.png")
    finally:
        context.close()


def test_phone_width_layout(browser: Any, shipped_app: str):
    context, page = _open(browser, shipped_app, width=390, height=844)
    try:
        _shot(page, "chat-phone-empty.png")
        answer = _ask(page, "Quelles compétences en mathématiques faut-il pour le machine learning ?")
        _assert_cited(answer, "fr")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        cards = page.locator("#mlc-chat .mlc-answer").last.locator(".mlc-card")
        for i in range(cards.count()):
            box = cards.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.locator("#mlc-chat .mlc-answer").last.evaluate("(el) => el.scrollIntoView({block: 'start'})")
        _shot(page, "chat-phone.png")
        page.locator("#mlc-chat .mlc-answer").last.locator(".mlc-sources").evaluate("(el) => el.scrollIntoView({block: 'start'})")
        _shot(page, "chat-phone-sources.png")
    finally:
        context.close()


def test_a_document_with_scripts_and_handlers_renders_inert(browser: Any, evil_app: str):
    context, page = _open(browser, evil_app)
    dialogs: list[str] = []
    requests: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    try:
        answer = _ask(page, "How does cross-validation estimate how a model generalises?")
        assert answer["cards"] and any("Cross-validation" in c["title"] for c in answer["cards"])
        for summary in page.locator("details.mlc-passage summary").all():
            summary.click()
        page.locator(".mlc-card-title").first.hover()
        time.sleep(1.5)  # time for any handler that could fire (image errors, svg loads) to do so
        shown = page.locator("#mlc-chat .mlc-answer").last
        # The document's markup is visible as text...
        assert "<script>" in shown.inner_text() or "<img" in shown.inner_text()
        # ...and nothing of it became live.
        flags = page.evaluate("Object.keys(window).filter((k) => k.startsWith('__xss'))")
        assert flags == [] and dialogs == []
        assert shown.locator("script, img, svg, iframe, object, embed").count() == 0
        live = shown.evaluate(
            "(el) => [...el.querySelectorAll('*')].flatMap((n) => [...n.attributes].map((a) => a.name + '=' + a.value))"
            ".filter((a) => a.startsWith('on') || a.includes('javascript:'))"
        )
        assert live == []
        assert not any(url.startswith("http://127.0.0.1:9/") for url in requests)
        _shot(page, "chat-injection-inert.png")
    finally:
        context.close()
