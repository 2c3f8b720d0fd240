"""The evaluation: retrieval hit rates, scope decisions, answer language, citations, latency."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .chat import Assistant
from .config import PROJECT_ROOT
from .errors import AssistantError

DEFAULT_EVAL_SET = PROJECT_ROOT / "eval" / "questions"
ARTICLE_EVAL_SET = PROJECT_ROOT / "eval" / "article" / "questions.jsonl"
# Written after retrieval and scope were tuned on DEFAULT_EVAL_SET, never used to tune them.
HELDOUT_EVAL_SET = PROJECT_ROOT / "eval" / "heldout"
_CITATION = re.compile(r"\[(\d+)\]")
_URL = re.compile(r"https?://[^\s)\]>\"']+")

# The seed article as it was given (plain text, bare heading lines), beside a checkout in the
# development layout; the Markdown version in corpus/article/ is its edited copy.
SEED_ARTICLE = PROJECT_ROOT.parent / "shared" / "seeds" / "000_8ac8948525ace4fd.txt"


def plain_text_article(folder: Path) -> Path:
    """`folder/article.txt`: the seed article as plain text, to build an index of it (calibration
    benchmark and tests). Without the seed, the Markdown article with its heading marks removed."""
    path = Path(folder) / "article.txt"
    if SEED_ARTICLE.exists():
        path.write_text(SEED_ARTICLE.read_text("utf-8"), "utf-8")
    else:
        markdown = next((PROJECT_ROOT / "corpus" / "article").glob("*.md"))
        body = markdown.read_text("utf-8").split("\n---\n", 1)[1]
        path.write_text("\n".join(re.sub(r"^#+ ", "", line) for line in body.splitlines()[2:] if line.strip()), "utf-8")
    return path


class Expected(BaseModel):
    source: str
    section: str


class EvalItem(BaseModel):
    id: str
    question: str
    lang: Literal["fr", "en"]
    kind: Literal["in_scope", "out_of_scope", "injection"]
    expected: list[Expected] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)


class ItemResult(BaseModel):
    id: str
    kind: str
    lang: str
    rank: int | None = Field(description="1-based rank of the first right passage in the top 5.")
    top_similarity: float
    in_scope: bool
    language_ok: bool
    citations_ok: bool
    urls_ok: bool
    injection_ok: bool
    seconds: float


class EvalReport(BaseModel):
    questions: int
    retrieval_questions: int
    hit_at_1: float
    hit_at_3: float
    hit_at_5: float
    mrr: float
    in_scope_answered: float
    out_of_scope_declined: float
    language_match: float
    citation_validity: float
    invented_urls: int
    injection_resisted: float
    latency_p50_ms: float
    latency_p95_ms: float
    suggested_threshold: float
    results: list[ItemResult]

    def table(self) -> str:
        rows = [
            ("questions", f"{self.questions} ({self.retrieval_questions} with an expected section)"),
            ("hit@1", f"{self.hit_at_1:.3f}"),
            ("hit@3", f"{self.hit_at_3:.3f}"),
            ("hit@5", f"{self.hit_at_5:.3f}"),
            ("MRR", f"{self.mrr:.3f}"),
            ("in-scope answered", f"{self.in_scope_answered:.3f}"),
            ("out-of-scope declined", f"{self.out_of_scope_declined:.3f}"),
            ("answer language match", f"{self.language_match:.3f}"),
            ("citation validity", f"{self.citation_validity:.3f}"),
            ("invented URLs", str(self.invented_urls)),
            ("injections resisted", f"{self.injection_resisted:.3f}"),
            ("latency p50 / p95", f"{self.latency_p50_ms:.0f} ms / {self.latency_p95_ms:.0f} ms"),
            ("suggested scope threshold", f"{self.suggested_threshold:.3f}"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def load_eval_set(path: Path = DEFAULT_EVAL_SET) -> list[EvalItem]:
    """Items from a JSONL file, or from every *.jsonl file of a folder."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise AssistantError(f"no evaluation files (*.jsonl) in {path}")
    items = []
    for file in files:
        for number, line in enumerate(file.read_text("utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    items.append(EvalItem.model_validate_json(line))
                except ValueError as exc:
                    raise AssistantError(f"{file}:{number}: not a valid evaluation item ({exc})") from exc
    return items


def section_matches(expected: Expected, source: str, section: str) -> bool:
    return expected.source == source and expected.section in section.split(" > ")


def _rank(item: EvalItem, hits: Iterable[tuple[str, str]]) -> int | None:
    for rank, (source, section) in enumerate(hits, start=1):
        if any(section_matches(e, source, section) for e in item.expected):
            return rank
    return None


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def best_threshold(in_scope: list[float], out_of_scope: list[float]) -> float:
    """The similarity cut that maximises balanced accuracy (ties: the midpoint of the gap)."""
    if not in_scope or not out_of_scope:
        return 0.0
    candidates = sorted(set(in_scope + out_of_scope))
    best, best_score = candidates[0], -1.0
    for i, cut in enumerate(candidates):
        score = sum(s >= cut for s in in_scope) / len(in_scope) + sum(s < cut for s in out_of_scope) / len(out_of_scope)
        if score > best_score:
            below = max((s for s in candidates if s < cut), default=cut)
            best, best_score = (cut + below) / 2, score
    return round(best, 4)


def corpus_urls(assistant: Assistant) -> set[str]:
    urls: set[str] = set()
    for chunk in assistant.chunks:
        urls.update(str(u) for u in chunk.metadata.get("links") or [])
        urls.update(_URL.findall(chunk.text))
    return {u.rstrip(".,;:") for u in urls}


def run_eval(assistant: Assistant, items: list[EvalItem], progress: bool = True) -> EvalReport:
    from tqdm import tqdm

    known_urls = corpus_urls(assistant)
    results: list[ItemResult] = []
    for item in tqdm(items, desc="evaluating", unit="q", disable=not progress):
        started = time.perf_counter()
        answer = assistant.ask(item.question)
        seconds = time.perf_counter() - started
        hits = assistant.search(item.question, k=5)
        rank = _rank(item, ((h.source, h.section) for h in hits)) if item.expected else None
        cited = {int(n) for n in _CITATION.findall(answer.text)}
        numbers = {s.n for s in answer.sources}
        urls = {u.rstrip(".,;:") for u in _URL.findall(answer.text)}
        lowered = answer.text.lower()
        results.append(
            ItemResult(
                id=item.id,
                kind=item.kind,
                lang=item.lang,
                rank=rank,
                top_similarity=max((h.score for h in hits), default=0.0),
                in_scope=answer.in_scope,
                language_ok=answer.language == item.lang,
                citations_ok=cited <= numbers and (bool(cited) or not answer.in_scope),
                urls_ok=urls <= known_urls,
                injection_ok=not any(s.lower() in lowered for s in item.must_not_contain),
                seconds=seconds,
            )
        )
    return summarise(results, items)


def summarise(results: list[ItemResult], items: list[EvalItem]) -> EvalReport:
    def rate(flags: list[bool]) -> float:
        return round(sum(flags) / len(flags), 4) if flags else 1.0

    expected_ids = {i.id for i in items if i.expected and i.kind == "in_scope"}
    retrieval = [r for r in results if r.id in expected_ids]
    in_scope = [r for r in results if r.kind == "in_scope"]
    out = [r for r in results if r.kind == "out_of_scope"]
    injections = [r for r in results if r.kind == "injection"]
    latencies = [r.seconds * 1000 for r in results]
    return EvalReport(
        questions=len(results),
        retrieval_questions=len(retrieval),
        hit_at_1=rate([r.rank == 1 for r in retrieval]),
        hit_at_3=rate([r.rank is not None and r.rank <= 3 for r in retrieval]),
        hit_at_5=rate([r.rank is not None for r in retrieval]),
        mrr=round(statistics.fmean([1 / r.rank if r.rank else 0.0 for r in retrieval]), 4) if retrieval else 0.0,
        in_scope_answered=rate([r.in_scope for r in in_scope]),
        out_of_scope_declined=rate([not r.in_scope for r in out]),
        language_match=rate([r.language_ok for r in results]),
        citation_validity=rate([r.citations_ok for r in results]),
        invented_urls=sum(not r.urls_ok for r in results),
        injection_resisted=rate([r.injection_ok for r in injections]),
        latency_p50_ms=round(_percentile(latencies, 0.5), 1),
        latency_p95_ms=round(_percentile(latencies, 0.95), 1),
        suggested_threshold=best_threshold([r.top_similarity for r in in_scope], [r.top_similarity for r in out]),
        results=results,
    )


def report_json(report: EvalReport) -> str:
    return json.dumps(report.model_dump(), ensure_ascii=False, indent=2)
