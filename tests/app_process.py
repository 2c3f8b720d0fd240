"""`python app.py` in a child process on a free 127.0.0.1 port, stopped (and its log kept) afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from assistant.config import PROJECT_ROOT

from .conftest import free_port

ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@contextmanager
def running_app(name: str, env: dict[str, str], start_timeout: float = 180) -> Iterator[str]:
    """Yields the server URL; the server's output goes to test-artifacts/<name>.log, not to a pipe nobody reads."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    full_env = {
        **os.environ,
        "MLCAREER_HOST": "127.0.0.1",
        "MLCAREER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        **env,
    }
    log_path: Path = ARTIFACTS / f"{name}.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"app.py exited early:\n{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"app.py did not start within {start_timeout:.0f} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
