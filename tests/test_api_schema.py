"""Schemathesis fuzzes every HTTP API operation from the OpenAPI schema: no 500s, no schema violations."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.serving.api import create_app

from .conftest import LiveServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api_only(shipped_assistant: Assistant) -> Iterator[LiveServer]:
    server = LiveServer(create_app(shipped_assistant, with_ui=False))
    yield server
    server.stop()


def test_schemathesis_finds_no_server_errors_or_schema_violations(api_only: LiveServer, tmp_path: Path):
    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert cli, "schemathesis is a test dependency"
    proc = subprocess.run(
        [
            cli, "run", f"{api_only.url}/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples", "25",
            "--seed", "1",
            "--workers", "1",
            "--phases", "examples,coverage,fuzzing",
            "--suppress-health-check", "too_slow",
            "--report-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
