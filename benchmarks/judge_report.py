"""Figures from blind verdicts (eval/JUDGING.md): per method and per pair of methods.

    python benchmarks/judge_report.py /tmp/judge/dev-a.verdicts.jsonl [more verdict files]

Each verdict file sits beside its blind file's key (`<name>.key.json` for `<name>.verdicts.jsonl`).
Coverage labels (full / partial / none) come from the question file of the set (eval/answers/<set>.jsonl).
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def key_for(verdicts: Path) -> Path:
    name = verdicts.name.removesuffix(".jsonl").removesuffix(".verdicts")
    return verdicts.with_name(f"{name}.key.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("verdicts", type=Path, nargs="+")
    args = parser.parse_args()
    per_method: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    prefs: dict[tuple[str, str], list[str]] = defaultdict(list)
    coverage: dict[str, str] = {}
    for path in args.verdicts:
        key = json.loads(key_for(path).read_text("utf-8"))
        questions = ROOT / "eval" / "answers" / f"{key['set']}.jsonl"
        if questions.exists():  # a set of changed answers only (ids "set_id") has no question file: coverage unknown
            coverage.update({r["id"]: r.get("coverage", "?") for r in map(json.loads, questions.read_text("utf-8").splitlines()) if r})
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            verdict = json.loads(line)
            pair = key["pairs"][verdict["pair"]]
            for side in ("X", "Y"):
                per_method[pair[f"{side.lower()}_is"]].append((pair["id"], verdict[side]))
            winner = verdict.get("preferred", "tie")
            label = pair["x_is"] if winner == "X" else pair["y_is"] if winner == "Y" else "tie"
            prefs[tuple(sorted((key["a"], key["b"])))].append(label)  # type: ignore[arg-type]

    print(f"{'method':28} {'n':>3} {'helpful':>7} {'faithful':>8} {'on topic':>8} {'natural':>7} {'language':>8} {'none told':>9} {'gap told':>8}")
    for method, rows in per_method.items():
        scores = [v for _, v in rows]
        none = [v for item, v in rows if coverage.get(item) == "none"]
        gaps = [v for item, v in rows if coverage.get(item) in ("none", "partial")]
        sentences = sum(max(v.get("sentences", 0), 1) for v in scores)
        print(
            f"{method:28} {len(scores):>3} {statistics.fmean(v['helpful'] for v in scores):>7.2f} "
            f"{sum(bool(v['faithful']) for v in scores) / len(scores):>8.1%} "
            f"{sum(min(v.get('on_topic', 0), max(v.get('sentences', 0), 1)) for v in scores) / sentences:>8.1%} "
            f"{statistics.fmean(v['natural'] for v in scores):>7.2f} "
            f"{sum(bool(v['language_ok']) for v in scores) / len(scores):>8.1%} "
            f"{(sum(bool(v['says_not_covered']) for v in none) / len(none)) if none else float('nan'):>9.1%} "
            f"{(sum(bool(v['says_not_covered']) for v in gaps) / len(gaps)) if gaps else float('nan'):>8.1%}"
        )
    for (a, b), labels in prefs.items():
        decided = [x for x in labels if x != "tie"]
        share = {m: sum(x == m for x in decided) / len(decided) if decided else 0.0 for m in (a, b)}
        print(f"preferred: {a} {share[a]:.0%} / {b} {share[b]:.0%} ({len(labels) - len(decided)} ties of {len(labels)} pairs)")
    unfaithful = [(m, item, v.get("unsupported_claim", "")) for m, rows in per_method.items() for item, v in rows if not v["faithful"]]
    if unfaithful:
        print("\nunsupported claims:")
        for method, item, claim in unfaithful:
            print(f"  {method} {item}: {claim[:160]}")


if __name__ == "__main__":
    main()
