"""Index build benchmark: full-build throughput, incremental rebuilds, peak memory.

    python benchmarks/build.py                  # the corpus, multilingual-e5-small
    python benchmarks/build.py --repeats 5 --no-trace

Works on a copy of corpus/ in a temporary folder: the shipped corpus and index are not touched.
Figures are printed, not asserted: the machines are shared and timings are noisy.
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from assistant import BuildReport, build_index
from assistant.config import PROJECT_ROOT, Settings
from assistant.embeddings import load_embeddings


def timed(build: Callable[[], BuildReport]) -> tuple[float, BuildReport]:
    started = time.perf_counter()
    report = build()
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus")
    parser.add_argument("--model", default="multilingual-e5-small")
    parser.add_argument("--repeats", type=int, default=3, help="Runs of each incremental rebuild (median reported).")
    parser.add_argument("--no-trace", action="store_true", help="Skip the tracemalloc pass (a second full build).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(args.corpus, corpus)
        settings = Settings(corpus_dir=corpus, index_dir=Path(tmp) / "index", embedding_model=args.model)
        load_embeddings(args.model, settings.threads)  # loading the model is not build throughput

        full_s, full = timed(lambda: build_index(settings=settings, full=True, progress=False))
        rss_after_full = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        nothing = [timed(lambda: build_index(settings=settings, progress=False))[0] for _ in range(args.repeats)]

        # A typical edit: a sentence added to the longest paragraph of one document.
        target = sorted(corpus.rglob("*.md"))[0]
        original = target.read_text("utf-8")
        lines = original.splitlines(keepends=True)
        longest = max(range(len(lines)), key=lambda i: len(lines[i]))
        one_file: list[float] = []
        embedded = 0
        for n in range(args.repeats):
            edited = lines[longest].rstrip("\n") + f" Edited by the benchmark ({n}).\n"
            target.write_text("".join([*lines[:longest], edited, *lines[longest + 1 :]]), "utf-8")
            seconds, report = timed(lambda: build_index(settings=settings, progress=False))
            one_file.append(seconds)
            embedded = report.embedded_chunks
        target.write_text(original, "utf-8")

        heap_peak = None
        if not args.no_trace:
            tracemalloc.start()
            build_index(settings=settings, full=True, progress=False)
            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    one_s, none_s = statistics.median(one_file), statistics.median(nothing)
    print(f"corpus: {corpus.name}/ copy of {args.corpus}, {len(full.added)} sources, {full.chunks} chunks, model {args.model}")
    print(f"full build:              {full_s:7.2f} s  {full.chunks / full_s:6.1f} chunks/s")
    print(f"one file changed:        {one_s:7.2f} s  ({embedded} chunks re-embedded)  {full_s / one_s:6.1f}x faster than full")
    print(f"nothing changed:         {none_s:7.2f} s  (nothing written)  {full_s / none_s:6.1f}x faster than full")
    print(f"peak RSS:                {rss_peak:7.0f} MiB (after the full build: {rss_after_full:.0f} MiB)")
    if heap_peak is not None:
        print(f"peak Python heap, full build (tracemalloc): {heap_peak:.1f} MiB")
    print(f"(median of {args.repeats} runs for the incremental rebuilds)")


if __name__ == "__main__":
    main()
