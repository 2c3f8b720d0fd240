"""Shared fixtures: a real index of the seed article, built once per test session."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from assistant import Assistant, build_index  # noqa: E402
from assistant.config import PROJECT_ROOT, Settings  # noqa: E402

ARTICLE = PROJECT_ROOT / "corpus" / "article"


@pytest.fixture(scope="session")
def article_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("article-index") / "index"
    build_index(sources=[ARTICLE], index_dir=index_dir, progress=False)
    return index_dir


@pytest.fixture(scope="session")
def article_settings(article_index: Path) -> Settings:
    # The article alone has 11 short passages whose similarities sit lower than the full corpus's:
    # the scope guard calibrated at build for this index (not a setting) takes care of it.
    return Settings(index_dir=article_index)


@pytest.fixture(scope="session")
def article_assistant(article_settings: Settings) -> Assistant:
    return Assistant(settings=article_settings)


@pytest.fixture(scope="session")
def shipped_assistant() -> Assistant:
    """The assistant on the committed index and default settings, as `python app.py` runs it."""
    return Assistant(settings=Settings())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread; `stop()` shuts it down."""

    def __init__(self, app, port: int | None = None) -> None:  # noqa: ANN001
        import threading

        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
