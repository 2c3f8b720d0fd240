"""URL sources against a real HTTP server on 127.0.0.1: routing by content type, and every way a fetch fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant import build_index
from assistant.config import Settings
from assistant.sources import SourceLimits, load_sources

from .conftest import free_port
from .sample_files import HTML_WITH_NOISE, make_pdf

# A short timeout, yet long enough for a loaded 2-core machine to answer the good routes in time.
LIMITS = SourceLimits(max_bytes=50_000, timeout=1.0, max_redirects=3)
SLOW_SECONDS = 6.0
PDF = make_pdf(["Cross-validation estimates how a model generalises.", "Learning curves show under- and over-fitting."], title="Evaluation notes")
NOTES_MD = "---\ntitle: Notes on MLOps\nlang: en\ntopics: [mlops]\n---\n# MLOps\n\n## CI for models\n\nRetrain and test models in CI.\n"


class Handler(BaseHTTPRequestHandler):
    """Routes standing for the good and the bad of the web."""

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def _send(self, body: bytes, content_type: str, status: int = 200, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first, as it should
            pass

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        path = self.path
        if path == "/guide.html":
            self._send(HTML_WITH_NOISE.encode(), "text/html; charset=utf-8")
        elif path == "/paper.pdf":
            self._send(PDF, "application/pdf")
        elif path == "/files/report.pdf":
            self._send(PDF, "application/octet-stream")
        elif path == "/notes.txt":
            self._send("Le café des data scientists : nettoyer les données avant tout.\n".encode("latin-1"), "text/plain; charset=iso-8859-1")
        elif path == "/notes":
            self._send(NOTES_MD.encode(), "text/markdown; charset=utf-8")
        elif path == "/image.png":
            self._send(b"\x89PNG\r\n\x1a\n", "image/png")
        elif path == "/missing":
            self._send(b"not here", "text/plain", status=404)
        elif path == "/slow":
            time.sleep(SLOW_SECONDS)
            self._send(b"too late", "text/plain")
        elif path == "/huge":
            self._send(b"x" * (LIMITS.max_bytes + 1), "text/plain")
        elif path == "/huge-undeclared":
            # No Content-Length: the client only learns the size while streaming.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"y" * 16_384)
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/guide.html")
            self.end_headers()
        else:
            self._send(b"?", "text/plain", status=500)


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_pages_and_files_are_routed_by_content_type(web: str):
    urls = [f"{web}/guide.html", f"{web}/paper.pdf", f"{web}/files/report.pdf", f"{web}/notes.txt", f"{web}/notes", f"{web}/moved"]
    docs, skipped = load_sources(urls, LIMITS)
    assert skipped == []
    by: dict[str, list] = {}
    for d in docs:
        by.setdefault(str(d.metadata["source"]), []).append(d)
    assert set(by) == set(urls)

    html = by[f"{web}/guide.html"][0]
    assert html.metadata["url"] == f"{web}/guide.html" and html.metadata["title"] == "Deploying machine learning models"
    assert "NOISE" not in html.page_content and "behind an HTTP API" in html.page_content

    pdf = by[f"{web}/paper.pdf"]
    assert [d.metadata["page"] for d in pdf] == [1, 2] and pdf[0].metadata["title"] == "Evaluation notes"
    assert [d.metadata["page"] for d in by[f"{web}/files/report.pdf"]] == [1, 2]  # octet-stream: the suffix decides

    text = by[f"{web}/notes.txt"][0]
    assert "café" in text.page_content and text.metadata["lang"] == "fr"  # declared charset honoured, language detected
    md = by[f"{web}/notes"][0]
    assert (md.metadata["title"], md.metadata["topics"], md.metadata["format"]) == ("Notes on MLOps", ["mlops"], "markdown")
    moved = by[f"{web}/moved"][0]
    assert moved.metadata["url"] == f"{web}/guide.html"  # the source keeps the listed URL, `url` where it landed


def test_dead_slow_huge_and_looping_urls_are_skipped_with_reasons(web: str):
    dead = f"http://127.0.0.1:{free_port()}/nothing-listens-here"
    urls = [f"{web}/missing", f"{web}/slow", f"{web}/huge", f"{web}/huge-undeclared", f"{web}/loop", f"{web}/image.png", dead]
    started = time.monotonic()
    docs, skipped = load_sources([*urls, f"{web}/guide.html"], LIMITS)
    assert time.monotonic() - started < SLOW_SECONDS - 1  # the slow server did not hold the build hostage
    assert [d.metadata["source"] for d in docs] == [f"{web}/guide.html"]
    reasons = {s.source: s.reason for s in skipped}
    assert reasons[f"{web}/missing"] == "HTTP 404 Not Found"
    assert reasons[f"{web}/slow"].startswith("timed out after 1 s")
    assert "too large" in reasons[f"{web}/huge"]
    assert "too large" in reasons[f"{web}/huge-undeclared"] and "download stopped" in reasons[f"{web}/huge-undeclared"]
    assert "too many redirects (limit 3)" in reasons[f"{web}/loop"]
    assert "unsupported content type image/png" in reasons[f"{web}/image.png"]
    assert reasons[dead].startswith("could not fetch")


@pytest.mark.integration
def test_build_from_urls_indexes_what_it_can_and_reports_the_rest(web: str, tmp_path: Path):
    settings = Settings(index_dir=tmp_path / "index", fetch_timeout=5, max_source_bytes=50_000, fetch_max_redirects=3)
    report = build_index(sources=[f"{web}/guide.html", f"{web}/paper.pdf", f"{web}/missing"], settings=settings, progress=False)
    assert sorted(report.added) == sorted([f"{web}/guide.html", f"{web}/paper.pdf"])
    assert [(s.source, s.reason) for s in report.skipped] == [(f"{web}/missing", "HTTP 404 Not Found")]
    assert f"skipped {web}/missing: HTTP 404 Not Found" in report.summary()

    from assistant import Assistant

    bot = Assistant(settings=settings.model_copy(update={"scope_threshold": 0.0}))
    hits = bot.search("How do I monitor a deployed model?", k=2)
    assert hits[0].url == f"{web}/guide.html" and hits[0].section == "Monitoring in production"
    pages = bot.search("learning curves over-fitting", k=1)
    assert pages[0].source == f"{web}/paper.pdf"
    assert any(c.metadata.get("page") == 2 for c in bot.chunks if c.metadata["source"] == f"{web}/paper.pdf")
