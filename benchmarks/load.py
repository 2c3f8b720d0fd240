"""Load benchmark: N concurrent clients against a real server (`python app.py`) on 127.0.0.1.

    python benchmarks/load.py                    # 50 clients, 30 s, POST /api/ask (extractive)
    python benchmarks/load.py --clients 20 --seconds 120 --stream --env MLCAREER_LLM=local
    python benchmarks/load.py --clients 20 --seconds 120 --stream --env MLCAREER_LLM=local --env MLCAREER_LOCAL_SLOTS=3

With --stream, clients read `/v1/chat/completions` as server-sent events and each answer is timed at
its sources, its first text and its end; a "written answer" is one the model wrote (not quoted only
because the model was busy or loading). Loopback only; bounded in time; waits for the model to be
ready before measuring; prints errors, time-outs, percentiles, written answers a minute and the peak
memory of the server and its model process.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation import DEFAULT_EVAL_SET, load_eval_set  # noqa: E402

WRITTEN_MARKERS = ("**En résumé**", "**In short**")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    full = {**os.environ, "MLCAREER_PORT": str(port), "MLCAREER_HOST": "127.0.0.1", **env}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
            # Measure the steady state: passages embedded, and the model (if any) loaded.
            if not health.get("warming_up") and health.get("model_state", "ready") == "ready":
                return proc
            time.sleep(1)
        except (httpx.TransportError, ValueError):
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("server did not start")


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of a process and its children, from /proc."""
    def hwm(p: int) -> int:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return (hwm(pid) + sum(hwm(c) for c in children)) / 1024


def body(endpoint: str, question: str, stream: bool) -> dict[str, object]:
    if endpoint == "/v1/chat/completions":
        return {"model": "mlcareer-assistant", "messages": [{"role": "user", "content": question}], "stream": stream}
    if endpoint == "/api/search":
        return {"query": question, "k": 5}
    return {"question": question}


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    sources: list[float] = field(default_factory=list)
    first_text: list[float] = field(default_factory=list)
    written: int = 0
    by_model: int = 0  # the model answered (its written part shown, or left out as a restatement of the quotes)
    quoted: int = 0
    errors: list[str] = field(default_factory=list)


async def streamed(http: httpx.AsyncClient, payload: dict[str, object], results: Results) -> None:
    started = time.perf_counter()
    sources_at = first_at = None
    text, backend = "", None
    async with http.stream("POST", "/v1/chat/completions", json=payload) as response:
        if response.status_code != 200:
            results.errors.append(f"HTTP {response.status_code}")
            return
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                results.errors.append(event["error"].get("type", "error"))
                return
            now = time.perf_counter() - started
            if sources_at is None and "sources" in event:
                sources_at = now
            backend = event.get("backend", backend)
            delta = event["choices"][0]["delta"].get("content") or ""
            if delta.strip() and first_at is None:
                first_at = now
            text += delta
    total = time.perf_counter() - started
    results.latencies.append(total)
    results.sources.append(sources_at if sources_at is not None else total)
    results.first_text.append(first_at if first_at is not None else total)
    if backend not in (None, "extractive"):
        results.by_model += 1
    if any(marker in text for marker in WRITTEN_MARKERS):
        results.written += 1
    else:
        results.quoted += 1


async def client(url: str, endpoint: str, stream: bool, questions: itertools.cycle, stop_at: float, results: Results) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=180) as http:
        while time.monotonic() < stop_at:
            payload = body(endpoint, next(questions), stream)
            started = time.perf_counter()
            try:
                if stream:
                    await streamed(http, payload, results)
                    continue
                response = await http.post(endpoint, json=payload)
                if response.status_code != 200:
                    results.errors.append(f"HTTP {response.status_code}")
                    continue
            except httpx.TimeoutException as exc:
                results.errors.append(f"timeout ({type(exc).__name__})")
                continue
            except httpx.HTTPError as exc:
                results.errors.append(type(exc).__name__)
                continue
            results.latencies.append(time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


async def run(url: str, clients: int, seconds: float, endpoint: str, stream: bool) -> Results:
    questions = itertools.cycle([i.question for i in load_eval_set(DEFAULT_EVAL_SET) if i.kind == "in_scope"])
    results = Results()
    started = time.monotonic()
    await asyncio.gather(*(client(url, endpoint, stream, questions, started + seconds, results) for _ in range(clients)))
    elapsed = time.monotonic() - started
    timeouts = sum(e.startswith("timeout") for e in results.errors)
    print(f"endpoint {endpoint}{' (streamed)' if stream else ''}, {clients} concurrent clients, {elapsed:.1f} s")
    print(f"answers {len(results.latencies)}, errors {len(results.errors) - timeouts}, time-outs {timeouts} {sorted(set(results.errors)) or ''}")
    if results.latencies:
        print(f"complete answer median {statistics.median(results.latencies):.2f} s, p95 {pct(results.latencies, 0.95):.2f} s, max {max(results.latencies):.2f} s")
        print(f"throughput {len(results.latencies) / elapsed:.1f} answers/s")
    if stream and results.latencies:
        print(f"sources p50 {pct(results.sources, 0.5):.2f} s, p95 {pct(results.sources, 0.95):.2f} s")
        print(f"first answer text p50 {pct(results.first_text, 0.5):.2f} s, p95 {pct(results.first_text, 0.95):.2f} s, max {max(results.first_text):.2f} s")
        print(f"written answers {results.written} ({results.written / elapsed * 60:.1f} a minute), quoted only {results.quoted}")
        print(f"answered by the model {results.by_model} ({results.by_model / elapsed * 60:.1f} a minute; the others were quoted because it was busy)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--endpoint", default="/api/ask", choices=["/api/ask", "/api/search", "/v1/chat/completions"])
    parser.add_argument("--stream", action="store_true", help="stream /v1/chat/completions and time each answer's steps")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server, e.g. MLCAREER_LLM=local")
    parser.add_argument("--url", help="An already running server; by default one is started on a free port.")
    args = parser.parse_args()
    endpoint = "/v1/chat/completions" if args.stream else args.endpoint
    env = dict(item.split("=", 1) for item in args.env)
    proc = None
    url = args.url
    if not url:
        port = free_port()
        proc = start_server(port, env)
        url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(run(url, args.clients, args.seconds, endpoint, args.stream))
        if proc:
            print(f"peak memory (server + model process) {peak_rss_mib(proc.pid):.0f} MiB")
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
