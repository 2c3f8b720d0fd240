"""Many clients at once with the real local model (0.5B) behind a real server on 127.0.0.1.

What must hold whatever the model writes: every stream completes without a 5xx, a client that
leaves frees its slot, an overflowing queue answers from the quotes with a notice, a killed model
answers from the quotes and comes back. Timing targets live in benchmarks/load.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.serving.api import create_app

from .conftest import LiveServer

pytestmark = pytest.mark.integration
SMALL_MODEL = "qwen2.5-coder-0.5b-instruct"
QUESTIONS = [
    "Quelles compétences en programmation faut-il pour devenir ingénieur ML ?",
    "Which maths does a machine learning engineer need?",
    "Comment déployer un modèle en production ?",
    "How should an ML engineer communicate results to a team?",
]


def _serve(article_settings: Settings, **overrides: object) -> Iterator[tuple[LiveServer, Assistant]]:
    settings = article_settings.model_copy(
        update={"llm": "local", "local_model": SMALL_MODEL, "max_tokens": 96, "answer_mode": "hybrid", **overrides}
    )
    bot = Assistant(settings=settings)
    assert bot.backend.model.wait_ready(300), bot.backend.model.error
    server = LiveServer(create_app(bot, settings, with_ui=False))
    try:
        yield server, bot
    finally:
        server.stop()


def _stream(url: str, question: str, timeout: float = 240) -> dict:
    """One streamed answer: status code, text, the events' extra fields, and whether it ended with [DONE]."""
    body = {"messages": [{"role": "user", "content": question}], "stream": True}
    out = {"status": None, "text": "", "notice": None, "done": False, "queue": [], "sources_first": False}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=timeout) as response:
        out["status"] = response.status_code
        for n, line in enumerate(response.iter_lines()):
            if line == "data: [DONE]":
                out["done"] = True
                continue
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            assert "error" not in event, event
            if n == 0:
                out["sources_first"] = bool(event.get("sources"))
            if event.get("queue"):
                out["queue"].append(event["queue"])
            out["text"] += event["choices"][0]["delta"].get("content") or ""
            out["notice"] = event.get("notice", out["notice"])
    return out


def _health(url: str) -> dict:
    return httpx.get(f"{url}/healthz", timeout=30).json()


@pytest.fixture(scope="module")
def two_slots(article_settings: Settings) -> Iterator[tuple[LiveServer, Assistant]]:
    yield from _serve(article_settings, local_slots=2, queue_size=8, queue_wait=120)


def test_concurrent_streams_all_complete(two_slots):
    server, bot = two_slots
    results: list[dict] = [{} for _ in range(5)]

    def run(i: int) -> None:
        results[i] = _stream(server.url, QUESTIONS[i % len(QUESTIONS)])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert all(r.get("status") == 200 and r["done"] for r in results), results
    assert all(r["sources_first"] and "[1]" in r["text"] for r in results)  # quoted key points, whatever the model does
    # Five answers on two slots: some waited in line and were told where they stood.
    assert any(r["queue"] for r in results)
    health = _health(server.url)
    assert health["model_state"] == "ready" and health["queue_length"] == 0 and health["answers_in_progress"] == 0


def test_a_client_that_leaves_frees_its_slot(article_settings: Settings):
    for server, bot in _serve(article_settings, local_slots=1, queue_size=4, queue_wait=120, max_tokens=400):
        body = {"messages": [{"role": "user", "content": QUESTIONS[0]}], "stream": True}
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, timeout=120) as response:
            for line in response.iter_lines():
                if '"content"' in line and _health(server.url)["answers_in_progress"] == 1:
                    break  # the model is writing this answer: leave now
        deadline = time.monotonic() + 15
        while _health(server.url)["answers_in_progress"] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(server.url)["answers_in_progress"] == 0, "the slot was not freed after the client left"
        follow = _stream(server.url, QUESTIONS[1])
        assert follow["status"] == 200 and follow["done"] and not follow["queue"]


def test_an_overflowing_queue_answers_from_the_quotes_with_a_notice(article_settings: Settings):
    for server, bot in _serve(article_settings, local_slots=1, queue_size=0, queue_wait=1):
        results: list[dict] = [{} for _ in range(3)]

        def run(i: int) -> None:
            results[i] = _stream(server.url, QUESTIONS[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert all(r.get("status") == 200 and r["done"] and "[1]" in r["text"] for r in results), results
        busy = [r for r in results if r["notice"] and ("occupé" in r["notice"] or "busy" in r["notice"])]
        assert busy, [r["notice"] for r in results]
        assert all(r["notice"] in r["text"] for r in busy)  # the notice is visible in the answer itself


def test_a_killed_model_answers_from_the_quotes_and_restarts(article_settings: Settings):
    for server, bot in _serve(article_settings, local_slots=1, max_tokens=400):
        model = bot.backend.model
        pid = model.pid
        result: dict = {}
        thread = threading.Thread(target=lambda: result.update(_stream(server.url, QUESTIONS[2])))
        thread.start()
        deadline = time.monotonic() + 120
        while _health(server.url)["answers_in_progress"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        thread.join(timeout=300)
        assert result["status"] == 200 and result["done"] and "[1]" in result["text"]
        assert result["notice"], "the answer says the written part failed"
        states = set()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states.add(_health(server.url)["model_state"])
            if "ready" in states and model.pid not in (None, pid):
                break
            time.sleep(0.2)
        assert model.state == "ready" and model.pid != pid and model.restarts >= 1
        assert states & {"restarting", "loading", "ready"}
        after = _stream(server.url, QUESTIONS[3])
        assert after["status"] == 200 and after["done"]


class _SlowModel:
    """Streams a long answer a token every 50 ms and records when the stream was closed (HTTP client gone).

    `restating`: every sentence is the same, so all but the first are left out and nothing new
    reaches the client while the model writes.
    """

    def __init__(self, restating: bool = False) -> None:
        self.tokens = 0
        self.closed_at: float | None = None
        self.restating = restating

    def stream(self, messages, **kwargs):  # noqa: ANN001, ANN003, ANN201 - the part of BaseChatModel the backend uses
        from langchain_core.messages import AIMessageChunk

        try:
            yield AIMessageChunk(content='{"answerable": true, "sentences": [')
            syllables = ["ba", "ko", "mi", "tu", "re", "so", "ni", "pa", "lu", "vo"]
            for i in range(400):
                time.sleep(0.05)
                self.tokens += 1
                # Sentences with no word in common, so each one is shown (restatements are left out)
                # and streams out at once.
                words = " ".join("".join(syllables[int(d)] for d in f"{0 if self.restating else i:03d}{k}") for k in range(5))
                yield AIMessageChunk(content=f'{{"source": 1, "text": "{words}."}}, ')
            yield AIMessageChunk(content="]}")
        finally:
            self.closed_at = time.monotonic()


@pytest.mark.parametrize("restating", [False, True], ids=["shown", "left-out"])
def test_a_disconnect_stops_the_model_at_once(article_settings: Settings, restating: bool):
    """Through a real server: the client leaves mid-answer, the model's stream is closed within a second,
    whether its sentences were streaming out or all being left out."""
    from assistant.answering.backends import ChatModelBackend
    from assistant.answering.gate import GenerationGate

    # answer_support 0: the invented sentences are not meant to pass the passage check, only to stream.
    settings = article_settings.model_copy(update={"answer_mode": "hybrid", "structured_output": True, "answer_support": 0.0})
    bot = Assistant(settings=settings)
    slow = _SlowModel(restating)
    gate = GenerationGate(1, 4, 60)
    bot.backend = ChatModelBackend("local", slow, settings, focus=bot.fallback, gate=gate)  # type: ignore[arg-type]
    server = LiveServer(create_app(bot, settings, with_ui=False))
    try:
        # A plain socket, so that leaving is exactly one close(): read what comes (the server waits
        # for a reader) until the model is 5 tokens in, then hang up.
        payload = json.dumps({"messages": [{"role": "user", "content": QUESTIONS[0]}], "stream": True}).encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
            )
            sock.settimeout(0.1)
            deadline = time.monotonic() + 60
            received = b""
            while slow.tokens < 5 and time.monotonic() < deadline:
                try:
                    received += sock.recv(65536)
                except TimeoutError:
                    pass
            left_at = time.monotonic()
        assert received.startswith(b"HTTP/1.1 200") and b'"sources"' in received
        deadline = time.monotonic() + 5
        while slow.closed_at is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow.closed_at is not None and slow.closed_at - left_at < 1.0, "the model kept writing for nobody"
        assert slow.tokens < 60 and gate.busy == 0
    finally:
        server.stop()
