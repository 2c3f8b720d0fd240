"""Thumbs up/down from the web chat: an append-only JSONL file, and its summary for `mlcareer feedback`."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ..schema import Answer, Source

log = logging.getLogger(__name__)

Rating = Literal["up", "down", "withdrawn"]


class FeedbackSource(BaseModel):
    """A passage shown under the rated answer (without its text: the index keeps it by id)."""

    n: int
    id: str
    title: str
    section: str
    source: str
    lang: str
    url: str | None = None
    score: float

    @classmethod
    def of(cls, source: Source) -> FeedbackSource:
        return cls(**source.model_dump(exclude={"text"}))


class FeedbackRecord(BaseModel):
    """One thumbs up or down (or its withdrawal), with what was asked, answered and cited."""

    time: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    answer_id: str
    rating: Rating
    question: str
    answer: str
    language: str
    backend: str
    notice: str | None = None
    query: str | None = Field(default=None, description="The standalone query used for retrieval.")
    k: int | None = Field(default=None, description="Passages asked for.")
    sources: list[FeedbackSource] = Field(default_factory=list)

    @classmethod
    def of(cls, answer: Answer, answer_id: str, rating: Rating, k: int | None = None) -> FeedbackRecord:
        return cls(
            answer_id=answer_id,
            rating=rating,
            question=answer.question,
            answer=answer.text,
            language=answer.language,
            backend=answer.backend,
            notice=answer.notice,
            query=answer.query,
            k=k,
            sources=[FeedbackSource.of(s) for s in answer.sources],
        )


class FeedbackStore:
    """An append-only JSONL file; each line is written whole under an exclusive lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def append(self, record: FeedbackRecord) -> None:
        line = (record.model_dump_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One open file description per call: flock then excludes other threads and processes alike.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        log.info("feedback %s on answer %s stored in %s", record.rating, record.answer_id, self.path)

    def records(self) -> Iterator[FeedbackRecord]:
        """Every stored record in order; unreadable lines are skipped with a warning."""
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            lines = handle.readlines()
            fcntl.flock(handle, fcntl.LOCK_UN)
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                yield FeedbackRecord.model_validate_json(line)
            except ValidationError as exc:
                log.warning("%s line %d skipped: %s", self.path, number, exc.errors()[0]["msg"])


class VoteCounts(BaseModel):
    up: int = 0
    down: int = 0


class DislikedQuestion(BaseModel):
    question: str
    down: int
    up: int


class FeedbackSummary(BaseModel):
    """Counts over the latest vote on each answer (a changed or withdrawn vote replaces the earlier one)."""

    path: str
    events: int
    answers_rated: int
    up: int
    down: int
    by_language: dict[str, VoteCounts]
    by_backend: dict[str, VoteCounts]
    most_disliked: list[DislikedQuestion]

    def table(self) -> str:
        lines = [
            f"feedback file: {self.path} ({self.events} events)",
            f"answers rated: {self.answers_rated}  up: {self.up}  down: {self.down}",
        ]
        for title, groups in (("by language", self.by_language), ("by backend", self.by_backend)):
            lines.append(f"{title}:")
            lines += [f"  {name:<12} up {c.up:>4}  down {c.down:>4}" for name, c in sorted(groups.items())]
        if self.most_disliked:
            lines.append("most disliked questions:")
            lines += [f"  {q.down:>3} down  {q.up:>3} up  {q.question}" for q in self.most_disliked]
        return "\n".join(lines)


def _normalise(question: str) -> str:
    return " ".join(question.lower().split())


def summarise(records: Iterable[FeedbackRecord], path: Path | str = "", top: int = 5) -> FeedbackSummary:
    """Up/down counts, by language and backend, and the questions with the most thumbs down."""
    latest: dict[str, FeedbackRecord] = {}
    events = 0
    for record in records:
        events += 1
        latest[record.answer_id] = record
    votes = [r for r in latest.values() if r.rating != "withdrawn"]
    by_language: dict[str, VoteCounts] = {}
    by_backend: dict[str, VoteCounts] = {}
    downs: Counter[str] = Counter()
    ups: Counter[str] = Counter()
    wording: dict[str, str] = {}
    for r in votes:
        for groups, key in ((by_language, r.language), (by_backend, r.backend)):
            counts = groups.setdefault(key, VoteCounts())
            setattr(counts, r.rating, getattr(counts, r.rating) + 1)
        key = _normalise(r.question)
        wording.setdefault(key, r.question)
        (downs if r.rating == "down" else ups)[key] += 1
    disliked = sorted(downs, key=lambda q: (-downs[q], ups[q], q))[:top]
    return FeedbackSummary(
        path=str(path),
        events=events,
        answers_rated=len(votes),
        up=sum(r.rating == "up" for r in votes),
        down=sum(r.rating == "down" for r in votes),
        by_language=by_language,
        by_backend=by_backend,
        most_disliked=[DislikedQuestion(question=wording[q], down=downs[q], up=ups[q]) for q in disliked],
    )


def summary_json(summary: FeedbackSummary) -> str:
    return json.dumps(summary.model_dump(), ensure_ascii=False, indent=2)
