import json
import multiprocessing
import threading
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app
from assistant.serving.feedback import FeedbackRecord, FeedbackSource, FeedbackStore, summarise
from assistant.schema import Answer, Source


def _record(answer_id: str, rating: str = "up", question: str = "Q?", language: str = "en", answer: str = "A [1].") -> FeedbackRecord:
    return FeedbackRecord(answer_id=answer_id, rating=rating, question=question, answer=answer, language=language, backend="extractive")


def _write_many(path: str, prefix: str, count: int) -> None:
    store = FeedbackStore(Path(path))
    for i in range(count):
        # Longer than a pipe buffer, so an unlocked writer could interleave lines.
        store.append(_record(f"{prefix}-{i}", answer="x" * 9000))


def test_records_round_trip_with_question_answer_and_sources(tmp_path: Path):
    source = Source(n=1, id="c1", text="passage", score=0.9, title="T", section="S", source="corpus/t.md", lang="fr", url=None)
    answer = Answer(question="Q ?", text="R [1]", language="fr", in_scope=True, sources=[source], backend="extractive", query="Q ?")
    store = FeedbackStore(tmp_path / "var" / "feedback.jsonl")  # parent folders are created
    store.append(FeedbackRecord.of(answer, "abc", "down", k=4))
    [record] = list(store.records())
    assert record.rating == "down" and record.question == "Q ?" and record.answer == "R [1]" and record.k == 4
    assert record.sources == [FeedbackSource(n=1, id="c1", title="T", section="S", source="corpus/t.md", lang="fr", score=0.9)]
    assert "passage" not in store.path.read_text()  # passages stay in the index


def test_concurrent_writers_never_interleave_lines(tmp_path: Path):
    path = tmp_path / "feedback.jsonl"
    threads = [threading.Thread(target=_write_many, args=(str(path), f"t{i}", 25)) for i in range(4)]
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold model threads
    processes = [context.Process(target=_write_many, args=(str(path), f"p{i}", 25)) for i in range(2)]
    for worker in [*threads, *processes]:
        worker.start()
    for worker in [*threads, *processes]:
        worker.join(timeout=60)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 150
    assert len({json.loads(line)["answer_id"] for line in lines}) == 150


def test_unreadable_lines_are_skipped(tmp_path: Path):
    path = tmp_path / "feedback.jsonl"
    store = FeedbackStore(path)
    store.append(_record("a"))
    with path.open("a") as handle:
        handle.write("{not json\n\n")
    store.append(_record("b"))
    assert [r.answer_id for r in store.records()] == ["a", "b"]
    assert list(FeedbackStore(tmp_path / "missing.jsonl").records()) == []


def test_summary_counts_the_latest_vote_per_answer():
    records = [
        _record("1", "up", "What maths?", "en"),
        _record("1", "down", "What maths?", "en"),  # changed their mind
        _record("2", "down", "Quels livres ?", "fr"),
        _record("3", "down", "quels   LIVRES ?", "fr"),  # same question, other wording
        _record("4", "up", "Et le MLOps ?", "fr"),
        _record("5", "up", "Deploy?", "en"),
        _record("5", "withdrawn", "Deploy?", "en"),
    ]
    summary = summarise(records, path="f.jsonl", top=5)
    assert (summary.events, summary.answers_rated, summary.up, summary.down) == (7, 4, 1, 3)
    assert summary.by_language["fr"].up == 1 and summary.by_language["fr"].down == 2
    assert summary.by_language["en"].down == 1 and summary.by_language["en"].up == 0
    assert [(q.question, q.down) for q in summary.most_disliked] == [("Quels livres ?", 2), ("What maths?", 1)]
    assert "most disliked questions" in summary.table()


def test_cli_summary_text_and_json(tmp_path: Path):
    path = tmp_path / "feedback.jsonl"
    store = FeedbackStore(path)
    for record in (_record("1", "up", "What maths?"), _record("2", "down", "Quels livres ?", "fr")):
        store.append(record)
    runner = CliRunner()
    result = runner.invoke(app, ["feedback", "--path", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["up"] == 1 and payload["down"] == 1 and payload["by_language"]["fr"]["down"] == 1
    assert payload["most_disliked"][0]["question"] == "Quels livres ?"
    text = runner.invoke(app, ["feedback", "--path", str(path)], env={"MLCAREER_FEEDBACK_PATH": "/nonexistent"})
    assert text.exit_code == 0 and "up: 1  down: 1" in text.output and "Quels livres ?" in text.output
    empty = runner.invoke(app, ["feedback"], env={"MLCAREER_FEEDBACK_PATH": str(tmp_path / "none.jsonl")})
    assert empty.exit_code == 0 and "0 events" in empty.output
