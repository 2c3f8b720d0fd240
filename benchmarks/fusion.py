"""Fusion weights of the hybrid search, measured on the shipped index (what chose the defaults).

    python benchmarks/fusion.py                    # the grid, best MRR first, on eval/questions
    python benchmarks/fusion.py --set eval/heldout # the same grid on the held-out set (confirm only)

Prints hit@1, hit@5 and MRR per setting; "rrf" is the reciprocal-rank fusion used before.
"""

from __future__ import annotations

import argparse
import itertools
import logging
from pathlib import Path

from assistant.config import Settings
from assistant.embeddings import load_embeddings
from assistant.evaluation import DEFAULT_EVAL_SET, _rank, load_eval_set
from assistant.index import load_index
from assistant.language import detect_language
from assistant.retrieval import FusionWeights, HybridSearcher


def score(searcher: HybridSearcher, items: list) -> tuple[float, float, float]:
    ranks = []
    for item in items:
        hits = searcher.search(item.question, 5, language=detect_language(item.question))
        ranks.append(_rank(item, ((str(h.chunk.metadata.get("source")), h.chunk.section) for h in hits)))
    n = len(ranks)
    return sum(r == 1 for r in ranks) / n, sum(r is not None for r in ranks) / n, sum(1 / r for r in ranks if r) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_EVAL_SET)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    embeddings = load_embeddings(settings.embedding_model, settings.threads)
    index = load_index(settings.index_dir, embeddings.spec)
    items = [i for i in load_eval_set(args.set) if i.kind == "in_scope" and i.expected]
    rows = []
    grid = itertools.product((0.0, 0.25, 0.35, 0.5), (0.0, 0.02, 0.03, 0.05), (0.0, 0.01, 0.03, 0.05))
    for heading, keyword, intro in grid:
        weights = FusionWeights(heading=heading, keyword=keyword, language=0.01, intro_penalty=intro)
        rows.append((score(HybridSearcher(index, embeddings, settings.candidates, weights), items), heading, keyword, intro))
    rows.sort(key=lambda r: r[0][2], reverse=True)
    print(f"{len(items)} questions from {args.set}")
    print(f"{'heading':>8} {'keyword':>8} {'intro':>6} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}")
    for (h1, h5, mrr), heading, keyword, intro in rows:
        print(f"{heading:>8} {keyword:>8} {intro:>6} {h1:>6.3f} {h5:>6.3f} {mrr:>6.3f}")


if __name__ == "__main__":
    main()
