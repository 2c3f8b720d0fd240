"""A running assistant serves a rebuilt index without a restart, and never a broken or half-written one."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from assistant import Assistant, build_index
from assistant.serving.api import create_app
from assistant.config import Settings

from .conftest import LiveServer

pytestmark = pytest.mark.integration

NEW_TERM = "Quokkaflow"
NEW_DOC = f"# {NEW_TERM}\n\n## Nightly retraining\n\n{NEW_TERM} pipelines retrain recommendation models every night on Kubernetes.\n"


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "testing.md").write_text("# Testing ML code\n\n## Unit tests\n\nUnit tests pin the behaviour of feature code.\n", "utf-8")
    (corpus / "serving.md").write_text("# Serving\n\n## APIs\n\nA model is served behind an HTTP API with a health check.\n", "utf-8")
    return corpus


def _eventually(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the new index was not served in time"
        time.sleep(0.1)


@pytest.fixture()
def live(tmp_path: Path) -> tuple[Settings, Path]:
    corpus = _corpus(tmp_path)
    # A made-up corpus: both scope signals off, so every question is answered from it.
    settings = Settings(
        corpus_dir=corpus, index_dir=tmp_path / "index", scope_threshold=0.0, scope_probability=0.0, index_reload_interval=0.2
    )
    build_index(settings=settings, progress=False)
    return settings, corpus


def _sources(bot: Assistant, query: str) -> set[str]:
    return {Path(s.source).name for s in bot.search(query, k=3)}


def test_the_assistant_serves_a_rebuilt_index_without_restart(live: tuple[Settings, Path]):
    settings, corpus = live
    bot = Assistant(settings=settings)
    assert "quokkaflow.md" not in _sources(bot, NEW_TERM) and bot.manifest.chunk_count == 2

    (corpus / "quokkaflow.md").write_text(NEW_DOC, "utf-8")
    build_index(settings=settings, progress=False)
    _eventually(lambda: "quokkaflow.md" in _sources(bot, NEW_TERM))
    assert bot.manifest.chunk_count == 3
    answer = bot.ask(f"What do {NEW_TERM} pipelines do?")
    assert answer.sources[0].source.endswith("quokkaflow.md") and NEW_TERM in answer.text


def test_a_broken_index_on_disk_is_not_served(live: tuple[Settings, Path], tmp_path: Path):
    settings, corpus = live
    bot = Assistant(settings=settings.model_copy(update={"index_reload_interval": 0.0}))  # reload by hand here
    old_count = bot.manifest.chunk_count

    # Someone copies in an index whose vectors are damaged (same manifest shape, wrong checksum).
    (corpus / "quokkaflow.md").write_text(NEW_DOC, "utf-8")
    other = tmp_path / "other-index"
    build_index(settings=settings.model_copy(update={"index_dir": other}), progress=False)
    with (other / "faiss.index").open("r+b") as handle:
        handle.seek(60)
        handle.write(b"damaged!")
    os.replace(settings.index_dir, tmp_path / "aside")
    os.replace(other, settings.index_dir)

    assert bot.reload_index() is False
    assert "checksum" in (bot.index_reload_error or "")
    assert bot.manifest.chunk_count == old_count and "testing.md" in _sources(bot, "unit tests")

    # The next good build is picked up.
    shutil.rmtree(settings.index_dir)
    os.replace(tmp_path / "aside", settings.index_dir)
    build_index(settings=settings, progress=False)
    assert bot.reload_index() is True and bot.manifest.chunk_count == old_count + 1
    assert bot.index_reload_error is None


def test_a_live_server_serves_the_new_index(live: tuple[Settings, Path]):
    settings, corpus = live
    bot = Assistant(settings=settings)
    server = LiveServer(create_app(bot, settings, with_ui=False))
    try:
        def served() -> set[str]:
            body = httpx.post(f"{server.url}/api/search", json={"query": NEW_TERM, "k": 3}, timeout=30).json()
            return {Path(r["source"]).name for r in body["results"]}

        before = httpx.get(f"{server.url}/healthz", timeout=30).json()
        assert "quokkaflow.md" not in served()

        (corpus / "quokkaflow.md").write_text(NEW_DOC, "utf-8")
        build_index(settings=settings, progress=False)
        _eventually(lambda: "quokkaflow.md" in served())
        after = httpx.get(f"{server.url}/healthz", timeout=30).json()
        assert after["chunks"] == before["chunks"] + 1
        manifest = httpx.get(f"{server.url}/api/index", timeout=30).json()
        assert any(source.endswith("quokkaflow.md") for source in manifest["sources"])
        reply = httpx.post(f"{server.url}/api/ask", json={"question": f"What do {NEW_TERM} pipelines do?"}, timeout=60).json()
        assert reply["sources"][0]["source"].endswith("quokkaflow.md")
    finally:
        server.stop()


def test_healthz_reports_an_index_that_could_not_be_served(live: tuple[Settings, Path], tmp_path: Path):
    settings, corpus = live
    bot = Assistant(settings=settings.model_copy(update={"index_reload_interval": 0.0}))
    server = LiveServer(create_app(bot, settings, with_ui=False))
    try:
        assert httpx.get(f"{server.url}/healthz", timeout=30).json()["index_reload_error"] is None
        (corpus / "quokkaflow.md").write_text(NEW_DOC, "utf-8")
        other = tmp_path / "other-index"
        build_index(settings=settings.model_copy(update={"index_dir": other}), progress=False)
        (other / "chunks.jsonl").write_text("damaged\n", "utf-8")
        shutil.rmtree(settings.index_dir)
        os.replace(other, settings.index_dir)
        assert bot.reload_index() is False
        health = httpx.get(f"{server.url}/healthz", timeout=30).json()
        assert health["status"] == "ok" and "mlcareer index build" in health["index_reload_error"]
    finally:
        server.stop()
