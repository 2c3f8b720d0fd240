"""The `mlcareer` command in a real subprocess: JSON shapes and error exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
RESULT_KEYS = {"id", "text", "score", "title", "section", "source", "lang"}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, timeout=300, check=False, env=dict(os.environ)
    )


def test_search_json_shape(article_index: Path):
    proc = run_cli("search", "déploiement en production", "--k", "3", "--index-dir", str(article_index), "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["query"] == "déploiement en production"
    assert len(payload["results"]) == 3
    assert all(RESULT_KEYS <= set(r) for r in payload["results"])
    assert payload["results"][0]["section"].endswith("Déploiement et Mise en Production")


def test_ask_json_shape(article_index: Path):
    proc = run_cli("ask", "How can I keep my skills up to date?", "--index-dir", str(article_index), "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert set(payload) >= {"question", "answer", "language", "in_scope", "sources", "backend"}
    assert payload["language"] == "en" and payload["in_scope"] is True and payload["backend"] == "extractive"
    assert all(RESULT_KEYS <= set(s) for s in payload["sources"])


def test_index_info_json(article_index: Path):
    proc = run_cli("index", "info", "--index-dir", str(article_index), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["chunk_count"] == 11


def test_errors_exit_non_zero_with_the_fix(tmp_path: Path, article_index: Path):
    proc = run_cli("search", "maths", "--index-dir", str(tmp_path / "none"))
    assert proc.returncode == 1
    assert "mlcareer index build" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("ask", "   ", "--index-dir", str(article_index))
    assert proc.returncode == 1 and "empty" in proc.stderr


def test_build_reports_skipped_sources(tmp_path: Path):
    (tmp_path / "ok.md").write_text("# OK\n\nMachine learning engineers write tests.\n", "utf-8")
    (tmp_path / "bad.md").write_bytes(b"\x00\x00binary")
    proc = run_cli("index", "build", "--source", str(tmp_path), "--index-dir", str(tmp_path / "index"))
    assert proc.returncode == 0, proc.stderr
    assert "1 added" in proc.stdout and "skipped" in proc.stdout and "bad.md" in proc.stdout
