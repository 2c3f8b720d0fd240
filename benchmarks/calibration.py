"""Any corpus works as well as the shipped one: the shipped index beside an index of the plain-text article.

    python benchmarks/calibration.py

Builds an index of the seed article as the plain text it came as (shared/seeds, or the Markdown
article with its heading marks removed when shared/ is not beside the checkout) and prints, for it
and for the shipped index: chunks and sections, the scope cuts calibrated at build, in-scope
answered and out-of-scope declined on the evaluation sets, and hit@1/3/5 and MRR. On the plain-text
index a hit is the right section of the article (the source is another file than the labels name).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant import Assistant, build_index  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluation import (  # noqa: E402
    ARTICLE_EVAL_SET,
    DEFAULT_EVAL_SET,
    HELDOUT_EVAL_SET,
    EvalItem,
    load_eval_set,
    plain_text_article,
)



def retrieval(bot: Assistant, items: list[EvalItem], any_source: bool) -> tuple[float, float, float, float]:
    ranks = []
    for item in items:
        hits = bot.search(item.question, k=5)
        rank = None
        for r, hit in enumerate(hits, start=1):
            if any((any_source or e.source == hit.source) and e.section in hit.section.split(" > ") for e in item.expected):
                rank = r
                break
        ranks.append(rank)
    n = len(ranks)
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 3 for r in ranks) / n,
        sum(r is not None for r in ranks) / n,
        statistics.fmean(1 / r if r else 0.0 for r in ranks),
    )


def scope(bot: Assistant, items: list[EvalItem]) -> str:
    inside = [i for i in items if i.kind == "in_scope"]
    outside = [i for i in items if i.kind == "out_of_scope"]
    answered = sum(bot.ask(i.question).in_scope for i in inside) / len(inside) if inside else float("nan")
    declined = sum(not bot.ask(i.question).in_scope for i in outside) / len(outside) if outside else float("nan")
    return f"in-scope answered {answered:.3f} ({len(inside)}), out-of-scope declined {declined:.3f} ({len(outside)})"


def describe(name: str, bot: Assistant, sets: dict[str, list[EvalItem]], any_source: bool) -> None:
    chunks = bot.chunks
    sections = {c.section for c in chunks if c.section}
    calibration = bot._searcher.index.scope.calibration
    print(f"\n== {name}")
    print(f"chunks {len(chunks)}, with a section {sum(bool(c.section) for c in chunks)}, distinct sections {len(sections)}")
    print(f"scope guard: {calibration.describe() if calibration else '-'}")
    for label, items in sets.items():
        print(f"{label}: {scope(bot, items)}")
        expected = [i for i in items if i.kind == "in_scope" and i.expected]
        if expected:
            h1, h3, h5, mrr = retrieval(bot, expected, any_source)
            print(f"{label}: hit@1 {h1:.3f} hit@3 {h3:.3f} hit@5 {h5:.3f} MRR {mrr:.3f} ({len(expected)} questions)")


def main() -> None:
    no_injections = lambda path: [i for i in load_eval_set(path) if i.kind != "injection"]  # noqa: E731
    off_topic = load_eval_set(DEFAULT_EVAL_SET / "out_of_scope.jsonl")
    held_off_topic = [i for i in load_eval_set(HELDOUT_EVAL_SET) if i.kind == "out_of_scope"]
    describe(
        "shipped index (corpus/)",
        Assistant(),
        {"eval/questions": no_injections(DEFAULT_EVAL_SET), "eval/heldout (never tuned on)": no_injections(HELDOUT_EVAL_SET)},
        any_source=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        source = plain_text_article(Path(tmp))
        report = build_index(sources=[source], index_dir=Path(tmp) / "index", progress=False)
        print(f"\n{report.summary()}")
        describe(
            "plain-text article (article.txt)",
            Assistant(settings=Settings(index_dir=Path(tmp) / "index")),
            {
                "eval/article + eval/questions out-of-scope": load_eval_set(ARTICLE_EVAL_SET) + off_topic,
                "eval/heldout out-of-scope (never tuned on)": held_off_topic,
            },
            any_source=True,
        )


if __name__ == "__main__":
    main()
