"""Load benchmark: N concurrent clients against a real server (`python app.py`) on 127.0.0.1.

    python benchmarks/load.py                    # 50 clients, 30 s, POST /api/ask (extractive)
    python benchmarks/load.py --clients 10 --seconds 10 --endpoint /v1/chat/completions

Loopback only; bounded in time; prints errors, latency percentiles and requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation import DEFAULT_EVAL_SET, load_eval_set  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MLCAREER_PORT": str(port), "MLCAREER_HOST": "127.0.0.1"}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            # Measure the steady state: wait until the passages' sentences are embedded.
            if health.status_code == 200 and not health.json().get("warming_up"):
                return proc
            time.sleep(1)
        except httpx.TransportError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not start")


def body(endpoint: str, question: str) -> dict[str, object]:
    if endpoint == "/v1/chat/completions":
        return {"model": "mlcareer-assistant", "messages": [{"role": "user", "content": question}]}
    if endpoint == "/api/search":
        return {"query": question, "k": 5}
    return {"question": question}


async def client(url: str, endpoint: str, questions: itertools.cycle, stop_at: float, latencies: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                response = await http.post(endpoint, json=body(endpoint, next(questions)))
                if response.status_code != 200:
                    errors.append(f"HTTP {response.status_code}")
                    continue
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                continue
            latencies.append(time.perf_counter() - started)


async def run(url: str, clients: int, seconds: float, endpoint: str) -> None:
    questions = itertools.cycle([i.question for i in load_eval_set(DEFAULT_EVAL_SET)])
    latencies: list[float] = []
    errors: list[str] = []
    started = time.monotonic()
    await asyncio.gather(*(client(url, endpoint, questions, started + seconds, latencies, errors) for _ in range(clients)))
    elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    print(f"endpoint {endpoint}, {clients} concurrent clients, {elapsed:.1f} s")
    print(f"requests ok {len(latencies)}, errors {len(errors)} {sorted(set(errors)) if errors else ''}")
    if ordered:
        print(f"latency median {statistics.median(ordered) * 1000:.0f} ms, p95 {ordered[int(0.95 * (len(ordered) - 1))] * 1000:.0f} ms, "
              f"max {ordered[-1] * 1000:.0f} ms")
    print(f"throughput {len(latencies) / elapsed:.1f} requests/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--endpoint", default="/api/ask", choices=["/api/ask", "/api/search", "/v1/chat/completions"])
    parser.add_argument("--url", help="An already running server; by default one is started on a free port.")
    args = parser.parse_args()
    proc = None
    url = args.url
    if not url:
        port = free_port()
        proc = start_server(port)
        url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(run(url, args.clients, args.seconds, args.endpoint))
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
