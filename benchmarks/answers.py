"""Answers for blind judging: per question and answering method, the answer, its passages, timings and citations.

    python benchmarks/answers.py --set eval/answers/dev.jsonl --method extractive --method local
    python benchmarks/answers.py --set eval/answers/heldout.jsonl --method extractive --code /tmp/today --name today-extractive

A method is a backend name (`extractive`, `local`, `local:qwen2.5-coder-0.5b-instruct`, `openai`),
optionally run by another checkout of the project (`--code DIR`, e.g. a `git worktree` of an
earlier commit, with its own index), so today's answers and the new ones are produced the same
way. Two-turn items are asked as a conversation: the first turn is answered by the same method
and passed as history. Writes `eval/results/<set>/<name>.jsonl` (one record per item) and prints
the timings: sources shown, first text, complete answer (p50 / p95).

Then `python benchmarks/blind.py` pairs two methods blindly for a judge, and
`python benchmarks/judge_report.py` turns the verdicts into figures (eval/JUDGING.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "eval" / "results"
WRITTEN_MARKERS = ("**En résumé**", "**In short**")  # the hybrid answer's written part begins


def ask(bot, question: str, history: list[tuple[str, str]]) -> dict:  # noqa: ANN001 - any version's Assistant
    """One answer through the streaming API, timed at each event."""
    started = time.perf_counter()
    sources_at = first_at = written_at = None
    answer = None
    for event in bot.stream_events(question, history):
        now = time.perf_counter() - started
        if event.kind == "sources" and sources_at is None:
            sources_at = now
        elif event.kind == "delta" and event.delta.strip():
            first_at = first_at if first_at is not None else now
            if written_at is None and any(marker in event.delta for marker in WRITTEN_MARKERS):
                written_at = now  # hybrid answers: the model's first words, after the quoted key points
        elif event.kind == "done":
            answer = event.answer
    total = time.perf_counter() - started
    return {
        "answer": answer.text,
        "status": getattr(answer, "status", "answered" if answer.in_scope else "out_of_scope"),
        "backend": answer.backend,
        "notice": answer.notice,
        "language": answer.language,
        "sources": [
            {"n": s.n, "title": s.title, "section": s.section, "lang": s.lang, "source": s.source, "text": s.text}
            for s in answer.sources
        ],
        "seconds": {
            "sources": round(sources_at or total, 3),
            "first_text": round(first_at or total, 3),
            "first_written": round(written_at, 3) if written_at is not None else None,
            "total": round(total, 3),
        },
    }


def run_items(method: str, items: list[dict]) -> list[dict]:
    """Answers every item with this backend, in this process (the checkout on sys.path)."""
    from assistant import Assistant
    from assistant.config import Settings

    backend, _, model = method.partition(":")
    overrides = {"llm": backend, **({"local_model": model} if model else {})}
    bot = Assistant(settings=Settings(**overrides))
    if hasattr(bot, "warm_up_in_background"):
        thread = bot.warm_up_in_background()
        if thread is not None:
            thread.join()  # measure answers, not the start-up warm-up
    model = getattr(bot.backend, "model", None)
    if model is not None and hasattr(model, "wait_ready") and not model.wait_ready(900):
        sys.exit(f"the local model did not start: {model.error}")
    records = []
    for item in items:
        history: list[tuple[str, str]] = []
        turns: list[dict] = []
        for question in item["turns"]:
            result = ask(bot, question, history)
            turns.append({"question": question, **result})
            history += [("user", question), ("assistant", result["answer"])]
        last = turns[-1]
        records.append({"id": item["id"], "lang": item["lang"], "method": method, "turns": item["turns"], **last, "first_turn": turns[0] if len(turns) > 1 else None})
        print(f"{item['id']}: {last['status']} {last['backend']} {last['seconds']['total']:.1f} s", file=sys.stderr, flush=True)
    return records


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=ROOT / "eval" / "answers" / "dev.jsonl")
    parser.add_argument("--method", action="append", required=True, help="backend[:local model]; repeatable")
    parser.add_argument("--code", type=Path, help="another checkout of the project to run the method with")
    parser.add_argument("--name", help="file name of the results (default: the method)")
    parser.add_argument("--limit", type=int, help="first N items only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    items = [json.loads(line) for line in args.set.read_text("utf-8").splitlines() if line.strip()][: args.limit]

    if args.worker:  # inside the other checkout: answers on stdout as JSON lines
        for record in run_items(args.method[0], items):
            print(json.dumps(record, ensure_ascii=False), flush=True)
        return

    out_dir = RESULTS / args.set.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    for method in args.method:
        if args.code:
            env = {**os.environ, "PYTHONPATH": str(args.code), "HF_HUB_OFFLINE": "1"}
            cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--set", str(args.set.resolve()), "--method", method]
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            done = subprocess.run(cmd, cwd=args.code, env=env, capture_output=True, text=True, check=False)
            if done.returncode:
                sys.exit(f"{method} in {args.code} failed:\n{done.stderr[-3000:]}")
            records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        else:
            records = run_items(method, items)
        name = args.name or method.replace(":", "-")
        path = out_dir / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
        for key in ("sources", "first_text", "first_written", "total"):
            values = [r["seconds"][key] for r in records if r["seconds"].get(key) is not None]
            if values:
                print(f"{name}: {key} p50 {statistics.median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s ({len(values)} answers)")
        written = [r for r in records if r["seconds"].get("first_written") is not None]
        if written:
            totals = [r["seconds"]["total"] for r in written]
            print(f"{name}: answers with a written part {len(written)}, their total p50 {statistics.median(totals):.2f} s")
        print(f"{name}: {len(records)} answers -> {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
