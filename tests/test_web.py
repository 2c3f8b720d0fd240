"""`python app.py` for real: a uvicorn server on 127.0.0.1 serving the Gradio chat."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .app_process import running_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with running_app("web-app", env={}) as url:
        yield url


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
    assert "Sources" in text and "Voici" not in text  # the answer opens on what the sources say, no preamble


def test_chat_rejects_empty_input_politely(server_url: str):
    from gradio_client import Client

    client = Client(server_url + "/", verbose=False)
    reply = client.predict("   ", api_name="/chat")
    assert "empty" in str(reply) and "vide" in str(reply)
