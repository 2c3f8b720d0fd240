"""`python app.py` for real: a uvicorn server on 127.0.0.1 serving the Gradio chat."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from assistant.config import PROJECT_ROOT

from .conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "MLCAREER_PORT": str(port), "MLCAREER_HOST": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited early:\n{proc.stdout.read() if proc.stdout else ''}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            raise RuntimeError("app.py did not start within 120 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_health_and_page(server_url: str):
    health = httpx.get(f"{server_url}/healthz").json()
    assert health["status"] == "ok" and health["chunks"] > 0
    page = httpx.get(server_url + "/", follow_redirects=True)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert httpx.get(f"{server_url}/api/index").json()["embedding_model"] == "multilingual-e5-small"


def test_chat_answers_through_the_gradio_api(server_url: str):
    from gradio_client import Client

    client = Client(server_url + "/", verbose=False)
    reply = client.predict("Quelles compétences en mathématiques faut-il ?", api_name="/chat")
    text = reply if isinstance(reply, str) else str(reply)
    assert "[1]" in text or "**[1]**" in text
    assert "Sources" in text and "Voici" in text


def test_chat_rejects_empty_input_politely(server_url: str):
    from gradio_client import Client

    client = Client(server_url + "/", verbose=False)
    reply = client.predict("   ", api_name="/chat")
    assert "empty" in str(reply) and "vide" in str(reply)
