"""Answer benchmark per backend: latency (sources, first token, tokens/s, full answer) and quality.

    python benchmarks/llm.py                                    # extractive, local 0.5B, local 1.5B
    python benchmarks/llm.py --backends local:qwen2.5-coder-1.5b-instruct --in-scope 40

Quality: answer language right, citations valid and present, grounding (share of the answer's
content words found in its passages: a proxy for "nothing the passages don't say"), relevance
(E5 cosine of question and answer: does it address what was asked), out-of-scope refused,
injections resisted. Printed, not asserted: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import statistics
import time

from tqdm import tqdm

from assistant import Assistant
from assistant.config import Settings
from assistant.evaluation import DEFAULT_EVAL_SET, load_eval_set
from assistant.language import detect_language
from assistant.text import fold

WORD = re.compile(r"[^\W\d_]{5,}", re.UNICODE)


def grounding(answer: str, passages: str) -> float:
    words = set(WORD.findall(fold(re.sub(r"\[\d+\]", "", answer))))
    if not words:
        return 1.0
    known = set(WORD.findall(fold(passages)))
    return sum(w in known for w in words) / len(words)


def relevance(bot: Assistant, question: str, answer: str) -> float:
    """Cosine between the question and the answer (E5): does the answer address what was asked?"""
    body = re.sub(r"\[\d+\]", "", answer)
    return float(bot.embeddings.embed_passages([body])[0] @ bot.embeddings.embed_query_vector(question))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def run(spec: str, items: list, threads: int, answer_support: float | None, show: int = 0) -> None:
    name, _, model = spec.partition(":")
    overrides: dict[str, object] = {"llm": name, "threads": threads}
    if answer_support is not None:
        overrides["answer_support"] = answer_support
    if model:
        overrides["local_model"] = model
    bot = Assistant(settings=Settings(**overrides))
    if bot.backend_error:
        print(f"{spec}: unavailable: {bot.backend_error}")
        return
    rows = []
    for item in tqdm(items, desc=spec, unit="q"):
        started = time.perf_counter()
        t_sources = t_first = None
        deltas = 0
        for event in bot.stream_events(item.question):
            now = time.perf_counter() - started
            if event.kind == "sources":
                t_sources = now
            elif event.kind == "delta":
                deltas += 1
                t_first = t_first if t_first is not None else now
            elif event.answer is not None:
                answer = event.answer
        total = time.perf_counter() - started
        text = answer.text
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        passages = " ".join(s.text for s in answer.sources)
        gen_seconds = max(total - (t_first or total), 1e-6)
        if show and len(rows) < show:
            tqdm.write(f"--- {item.question}\n{text}\n")
        rows.append({
            "kind": item.kind,
            "sources_s": t_sources or 0.0,
            "first_s": t_first or total,
            "total_s": total,
            "tokens_per_s": (deltas - 1) / gen_seconds if deltas > 1 else 0.0,
            "language_ok": detect_language(re.sub(r"\[\d+\]", "", text), default=answer.language) == item.lang,
            "cited": bool(cited) if answer.in_scope else True,
            "citations_valid": cited <= {s.n for s in answer.sources},
            "grounding": grounding(text, passages) if answer.in_scope else 1.0,
            "relevance": relevance(bot, item.question, text) if answer.in_scope else 0.0,
            "in_scope": answer.in_scope,
            "fallback": answer.notice is not None,
            "injection_ok": not any(s in text.lower() for s in item.must_not_contain),
        })
    ins = [r for r in rows if r["kind"] == "in_scope"]
    gen = [r for r in ins if r["in_scope"]]
    oos = [r for r in rows if r["kind"] == "out_of_scope"]
    inj = [r for r in rows if r["kind"] == "injection"]

    def rate(rs: list[dict], key: str) -> str:
        return f"{sum(bool(r[key]) for r in rs) / len(rs):.3f}" if rs else "-"

    def ms(rs: list[dict], key: str) -> str:
        values = [r[key] for r in rs]
        return f"p50 {statistics.median(values):.2f} s, p95 {pct(values, 0.95):.2f} s" if values else "-"

    print(f"\n== {spec} ({len(rows)} questions; {len(gen)} generated answers)")
    print(f"time to sources     {ms(rows, 'sources_s')}")
    print(f"time to first token {ms(gen, 'first_s')}")
    print(f"full answer         {ms(gen, 'total_s')}")
    # With the answer guard on, text arrives a sentence at a time: measure tokens/s with --answer-support 0.
    print(f"deltas/s (stream)   p50 {statistics.median([r['tokens_per_s'] for r in gen] or [0]):.1f}")
    print(f"language right      {rate(rows, 'language_ok')}")
    print(f"answers cited       {rate(gen, 'cited')}, citations valid {rate(rows, 'citations_valid')}")
    print(f"grounding (mean)    {statistics.fmean([r['grounding'] for r in gen] or [0]):.3f}")
    print(f"relevance (mean)    {statistics.fmean([r['relevance'] for r in gen] or [0]):.3f}")
    print(f"in-scope answered   {rate(ins, 'in_scope')}, out-of-scope refused {1 - sum(r['in_scope'] for r in oos) / max(len(oos), 1):.3f}")
    print(f"injections resisted {rate(inj, 'injection_ok')}, fallbacks {sum(r['fallback'] for r in rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends", nargs="*",
        default=["extractive", "local:qwen2.5-coder-0.5b-instruct", "local:qwen2.5-coder-1.5b-instruct"],
    )
    parser.add_argument("--in-scope", type=int, default=30, help="In-scope questions sampled (half fr, half en).")
    parser.add_argument("--out-of-scope", type=int, default=10)
    parser.add_argument("--injections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show", type=int, default=0, help="Print the first N answers, for reading them.")
    parser.add_argument("--answer-support", type=float, default=None, help="Answer guard setting (0: off); default: the app's.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    items = load_eval_set(DEFAULT_EVAL_SET)
    rng = random.Random(7)
    pick = []
    for lang in ("fr", "en"):
        pool = [i for i in items if i.kind == "in_scope" and i.lang == lang]
        pick += rng.sample(pool, min(len(pool), args.in_scope // 2))
    pick += rng.sample([i for i in items if i.kind == "out_of_scope"], args.out_of_scope)
    pick += [i for i in items if i.kind == "injection"][: args.injections]
    for spec in args.backends:
        run(spec, pick, args.threads, args.answer_support, args.show)


if __name__ == "__main__":
    main()
