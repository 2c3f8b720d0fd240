"""How the scope guard treats follow-ups: answered when they stay on the career, declined when they leave it.

    python benchmarks/followups.py                                            # the dev set
    python benchmarks/followups.py --set eval/answers/heldout_followups.jsonl # the held-out set

Each item is a two-turn conversation written by a helper that saw neither the code nor the corpus
(eval/answers/followups.jsonl: 40 "stay", 40 "leave"; heldout_followups.jsonl: another 80 by another
helper, never tuned on). The first question is asked, then the follow-up with the first answer as
history, exactly as the web chat does; a follow-up counts as answered unless the scope guard
declines it. Prints, per kind, how many were answered, the balanced accuracy, and the ones the
guard got wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEV = ROOT / "eval" / "answers" / "followups.jsonl"
log = logging.getLogger("followups")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEV, help="JSONL of {id, kind: stay|leave, turns: [first, follow-up]}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from assistant import Assistant

    bot = Assistant()
    items = [json.loads(line) for line in args.set.read_text("utf-8").splitlines() if line.strip()]
    answered: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    wrong: list[str] = []
    for item in tqdm(items, desc="conversations", unit="conv"):
        first, follow_up = item["turns"]
        previous = bot.ask(first)
        answer = bot.ask(follow_up, history=[("user", first), ("assistant", previous.text)])
        kept = answer.status != "out_of_scope"
        totals[item["kind"]] += 1
        answered[item["kind"]] += kept
        if kept != (item["kind"] == "stay"):
            wrong.append(f"  {item['id']} {item['kind']:5} {'answered' if kept else 'declined'}: {follow_up}")
    stay = answered["stay"] / max(totals["stay"], 1)
    leave = answered["leave"] / max(totals["leave"], 1)
    log.info("stay answered   %d / %d (%.1f%%)", answered["stay"], totals["stay"], 100 * stay)
    log.info("leave answered  %d / %d (%.1f%%)", answered["leave"], totals["leave"], 100 * leave)
    log.info("balanced accuracy %.3f", (stay + 1 - leave) / 2)
    if wrong:
        log.info("wrong:\n%s", "\n".join(wrong))


if __name__ == "__main__":
    main()
