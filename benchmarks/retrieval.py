"""Retrieval benchmark: hit rates, search latency and build throughput per embedding model.

    python benchmarks/retrieval.py                 # every packaged model, article and full corpus
    python benchmarks/retrieval.py --models multilingual-e5-small --corpus article

Figures are printed, not asserted: the machines are shared and timings are noisy.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

from assistant import Assistant, build_index
from assistant.config import PROJECT_ROOT, Settings
from assistant.embeddings import EMBEDDING_MODELS, load_embeddings
from assistant.evaluation import ARTICLE_EVAL_SET, DEFAULT_EVAL_SET, load_eval_set, run_eval

CORPORA = {
    "article": ([PROJECT_ROOT / "corpus" / "article"], ARTICLE_EVAL_SET),
    "full": ([PROJECT_ROOT / "corpus"], DEFAULT_EVAL_SET),
}


def bench(model: str, corpus: str, workdir: Path, repeats: int) -> dict[str, float]:
    sources, eval_set = CORPORA[corpus]
    settings = Settings(index_dir=workdir / f"{model}-{corpus}", embedding_model=model, scope_threshold=0.0)
    load_embeddings(model, settings.threads)  # model loading is not build throughput
    started = time.perf_counter()
    report = build_index(sources=sources, settings=settings, full=True, progress=False)
    build_seconds = time.perf_counter() - started
    bot = Assistant(settings=settings)
    items = load_eval_set(eval_set)
    quality = run_eval(bot, [i for i in items if i.expected and i.kind == "in_scope"], progress=False)
    questions = [i.question for i in items]
    latencies = []
    for _ in range(repeats):
        for q in questions:
            bot.embeddings.clear_query_cache()  # a cold search: the question's embedding included
            t = time.perf_counter()
            bot.search(q, k=5)
            latencies.append((time.perf_counter() - t) * 1000)
    return {
        "chunks": report.chunks,
        "chunks_per_s": report.chunks / build_seconds,
        "hit@1": quality.hit_at_1,
        "hit@3": quality.hit_at_3,
        "hit@5": quality.hit_at_5,
        "mrr": quality.mrr,
        "search_p50_ms": statistics.median(latencies),
        "search_p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=sorted(EMBEDDING_MODELS))
    parser.add_argument("--corpus", choices=[*CORPORA, "both"], default="both")
    parser.add_argument("--repeats", type=int, default=3, help="Search passes over the questions for latency.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    corpora = list(CORPORA) if args.corpus == "both" else [args.corpus]
    header = f"{'model':24} {'corpus':8} {'chunks':>6} {'build ch/s':>10} {'hit@1':>6} {'hit@3':>6} {'hit@5':>6} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for corpus in corpora:
            for model in args.models:
                r = bench(model, corpus, Path(tmp), args.repeats)
                print(
                    f"{model:24} {corpus:8} {r['chunks']:>6} {r['chunks_per_s']:>10.1f} {r['hit@1']:>6.3f} {r['hit@3']:>6.3f} "
                    f"{r['hit@5']:>6.3f} {r['mrr']:>6.3f} {r['search_p50_ms']:>7.1f} {r['search_p95_ms']:>7.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
