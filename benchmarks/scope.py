"""The scope guard's two signals, measured: what chose the classifier's C, its cut and the threshold.

    python benchmarks/scope.py

Trains the classifier on assistant/data/scope_training.jsonl for several C, then prints, for each
(C, probability cut, similarity threshold), in-scope answered and out-of-scope declined on the
evaluation set and on the held-out set (never used to choose: it shows how well the choice carries).
"""

from __future__ import annotations

import argparse
import itertools
import logging

import numpy as np

from assistant.config import Settings
from assistant.embeddings import load_embeddings
from assistant.evaluation import DEFAULT_EVAL_SET, HELDOUT_EVAL_SET, load_eval_set
from assistant.index import load_index
from assistant.language import detect_language
from assistant.retrieval import HybridSearcher
from assistant.scope import DEFAULT_TRAINING_FILE, train


def signals(searcher: HybridSearcher, path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """Per question: best passage similarity, query vector, and whether it is in scope."""
    items = [i for i in load_eval_set(path) if i.kind != "injection"]
    best, vectors = [], []
    for item in items:
        hits = searcher.search(item.question, 4, language=detect_language(item.question))
        best.append(max(h.similarity for h in hits))
        vectors.append(searcher.embeddings.embed_query_vector(item.question))
    return np.array(best), np.stack(vectors), np.array([i.kind == "in_scope" for i in items])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c", type=float, nargs="*", default=[3.0, 10.0, 30.0, 100.0])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings()
    embeddings = load_embeddings(settings.embedding_model, settings.threads)
    searcher = HybridSearcher(load_index(settings.index_dir, embeddings.spec), embeddings, settings.candidates)
    sets = {"eval": signals(searcher, DEFAULT_EVAL_SET), "held-out": signals(searcher, HELDOUT_EVAL_SET)}
    print(f"{'C':>5} {'p':>4} {'sim':>6} | {'eval answered':>13} {'declined':>8} | {'held-out answered':>17} {'declined':>8}")
    for name, (best, _, inside) in sets.items():
        print(f"similarity only at {settings.scope_threshold}, {name}: answered {np.mean(best[inside] >= settings.scope_threshold):.3f} "
              f"declined {np.mean(best[~inside] < settings.scope_threshold):.3f}")
    for c in args.c:
        model = train(embeddings, DEFAULT_TRAINING_FILE, progress=False, c=c)
        for cut, threshold in itertools.product((0.4, 0.5, 0.6), (0.83, 0.84, 0.845)):
            figures = []
            for best, vectors, inside in sets.values():
                accept = (np.array([model.probability(v) for v in vectors]) >= cut) & (best >= threshold)
                figures += [np.mean(accept[inside]), np.mean(~accept[~inside])]
            print(f"{c:>5g} {cut:>4} {threshold:>6} | {figures[0]:>13.3f} {figures[1]:>8.3f} | {figures[2]:>17.3f} {figures[3]:>8.3f}")


if __name__ == "__main__":
    main()
