"""Blind pairs of two answering methods for a judge: shuffled, unlabelled, each answer with its own passages.

    python benchmarks/blind.py --set dev --a extractive --b local --out /tmp/judge/dev-a.md

Writes the file the judge reads (Markdown: the question, then answers X and Y with the passages each
one had, in a random order per item) and, beside it, a key file (`.key.json`, never shown to the
judge) saying which method is X. Items are shuffled too. The rubric is eval/JUDGING.md.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "eval" / "results"


def load(set_name: str, method: str) -> dict[str, dict]:
    path = RESULTS / set_name / f"{method}.jsonl"
    return {r["id"]: r for r in map(json.loads, path.read_text("utf-8").splitlines()) if r}


def passages(record: dict) -> str:
    if not record["sources"]:
        return "(no passages)"
    return "\n".join(f"[{s['n']}] {s['title']} > {s['section']} ({s['lang']}): {' '.join(s['text'].split())}" for s in record["sources"])


def conversation(record: dict) -> str:
    turns = record["turns"]
    if len(turns) == 1:
        return f"**Question:** {turns[0]}"
    first = record.get("first_turn") or {}
    return (
        f"**First question:** {turns[0]}\n\n**(The assistant's first answer, for context only:)** "
        f"{' '.join((first.get('answer') or '').split())[:600]}\n\n**Follow-up question (judge the answers to this one):** {turns[1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", required=True, help="results folder name under eval/results (e.g. dev)")
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    a, b = load(args.set, args.a), load(args.set, args.b)
    rng = random.Random(args.seed)
    ids = [i for i in a if i in b]
    rng.shuffle(ids)
    blocks, key = [], {}
    for number, item_id in enumerate(ids, start=1):
        pair = f"P{number:03d}"
        x, y = (a[item_id], b[item_id]) if rng.random() < 0.5 else (b[item_id], a[item_id])
        x_is = args.a if x is a[item_id] else args.b
        key[pair] = {"id": item_id, "x_is": x_is, "y_is": args.b if x_is == args.a else args.a}
        blocks.append(
            f"## {pair}\n\n{conversation(x)}\n\n### Answer X\n\n{x['answer']}\n\n**Passages given to answer X:**\n{passages(x)}\n\n"
            f"### Answer Y\n\n{y['answer']}\n\n**Passages given to answer Y:**\n{passages(y)}\n"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"# Blind pairs ({len(ids)})\n\n" + "\n\n---\n\n".join(blocks) + "\n", "utf-8")
    args.out.with_suffix(".key.json").write_text(json.dumps({"set": args.set, "a": args.a, "b": args.b, "pairs": key}, indent=1), "utf-8")
    print(f"{len(ids)} pairs -> {args.out}")


if __name__ == "__main__":
    main()
