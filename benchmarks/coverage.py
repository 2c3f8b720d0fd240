"""How well the corpus covers what new users ask: the passages retrieved for each everyday question, for a blind reader.

    python benchmarks/coverage.py --out /tmp/judge/coverage.md      # write the file a helper reads
    python benchmarks/coverage.py --verdicts /tmp/judge/coverage.verdicts.jsonl   # the share answered
    python benchmarks/coverage.py --questions eval/answers/coverage2.jsonl --out ...   # the second set

The questions were written by helpers that never saw the corpus, each set after the documents of its
time: eval/answers/coverage.jsonl (45), coverage2 to coverage5 (48 each; each one's gaps later chose
sections, so they are tuned-on sets now) and coverage6.jsonl (48), never used to choose anything
(eval/DECISIONS.md has the history). Two-turn items are searched as the chat searches a follow-up. The
reader says, per question, whether the passages the assistant retrieved ("yes"), partly, or not ("no")
contain the answer; the figure is the share of "yes", and the rest are listed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTIONS = ROOT / "eval" / "answers" / "coverage.jsonl"
INSTRUCTIONS = """# Do these passages contain the answer?

For each question below, read the numbered passages the assistant retrieved for it and say whether
they contain the answer a careful expert would give: "yes" (the answer is there), "partly" (part of
it, or only general guidance beside what is asked) or "no". Judge the passages only, not your own
knowledge. A follow-up ("Question" after an "Earlier question") means what it asks in that
conversation. Write one JSON line per question, in order, to the verdicts file you were given:
{"id": "c-01", "contains": "yes"|"partly"|"no", "missing": "what is missing, if anything"}
"""


def write(out: Path, questions: Path = QUESTIONS) -> None:
    from assistant import Assistant

    bot = Assistant()
    items = [json.loads(line) for line in questions.read_text("utf-8").splitlines() if line.strip()]
    blocks = [INSTRUCTIONS]
    for item in items:
        *earlier, question = item["turns"]
        # What any answer to it is built from (a follow-up: searched with the earlier turns, as in a chat).
        passages = bot.search(question, k=bot.settings.top_k, history=[("user", turn) for turn in earlier])
        asked = "".join(f"**Earlier question:** {turn}\n" for turn in earlier)
        lines = [f"## {item['id']}\n\n{asked}**Question:** {question}\n"]
        lines += [f"[{s.n}] {s.title} > {s.section}: {' '.join(s.text.split())}" for s in passages]
        blocks.append("\n".join(lines))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(blocks) + "\n", "utf-8")
    print(f"{len(items)} questions -> {out}")


def report(verdicts: Path, questions_file: Path = QUESTIONS) -> None:
    rows = [json.loads(line) for line in verdicts.read_text("utf-8").splitlines() if line.strip()]
    questions = {json.loads(line)["id"]: json.loads(line)["turns"][-1] for line in questions_file.read_text("utf-8").splitlines() if line.strip()}
    yes = [r for r in rows if r["contains"] == "yes"]
    print(f"{len(yes)} of {len(rows)} questions ({len(yes) / len(rows):.0%}) have their answer in the retrieved passages")
    for r in rows:
        if r["contains"] != "yes":
            print(f"  {r['id']} ({r['contains']}): {questions.get(r['id'], '')} -- {r.get('missing', '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--verdicts", type=Path)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    args = parser.parse_args()
    if args.out:
        write(args.out, args.questions)
    if args.verdicts:
        report(args.verdicts, args.questions)


if __name__ == "__main__":
    main()
