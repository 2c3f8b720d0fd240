"""The chat and feedback functions behind the web page, without a browser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from assistant import Assistant
from assistant.config import Settings
from assistant.errors import InvalidQuestionError
from assistant.serving.feedback import FeedbackStore
from assistant.serving.rendering import reply_answer_id
from assistant.schema import Answer, AnswerEvent, Source
from assistant.serving.ui import MAX_K, RecentAnswers, history_turns, make_chat_fn, make_feedback_fn, mark_stopped, message_text

SOURCE = Source(n=1, id="c1", text="Linear algebra <script>x</script>", score=0.9, title="Maths", section="Basics", source="corpus/m.md", lang="en", url="https://mml-book.github.io/")


class FakeAssistant:
    """Streams a fixed answer and remembers what the chat function passed in."""

    def __init__(self, notice: str | None = None, fail: Exception | None = None) -> None:
        self.settings = Settings(top_k=4)
        self.backend = SimpleNamespace(name="extractive")
        self.calls: list[dict[str, Any]] = []
        self.notice, self.fail = notice, fail

    def stream_events(self, question: str, history: list[tuple[str, str]] | None = None, k: int | None = None) -> Iterator[AnswerEvent]:
        self.calls.append({"question": question, "history": list(history or []), "k": k})
        if self.fail:
            raise self.fail
        yield AnswerEvent(kind="sources", sources=[SOURCE])
        pieces = ([self.notice + "\n\n"] if self.notice else []) + ["Here is what the sources say:\n\n", "- Vectors matter. [1]\n"]
        for piece in pieces:
            yield AnswerEvent(kind="delta", delta=piece)
        text = "".join(pieces).strip()
        answer = Answer(question=question, text=text, language="en", in_scope=True, sources=[SOURCE], backend="extractive", query=question, notice=self.notice)
        yield AnswerEvent(kind="done", answer=answer)


def _parts(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}]


def test_message_text_reads_every_gradio_shape():
    assert message_text("plain") == "plain"
    assert message_text(_parts("a") + [{"type": "file", "path": "x.png"}, "b"]) == "a\nb"
    assert message_text(None) == ""


def test_streams_sources_first_then_the_cited_answer():
    bot = FakeAssistant()
    answers = RecentAnswers()
    states = list(make_chat_fn(bot, answers)("What maths do I need?", [], "extractive", 2))
    assert len(states) >= 2
    assert "mlc-pending" in states[0] and "mlc-card" in states[0] and "mlc-footer" not in states[0]
    final = states[-1]
    assert "Answered by: extractive" in final and '<span class="mlc-cite" title="Maths › Basics">[1]</span>' in final
    assert "&lt;script&gt;" in final and "<script>" not in final
    assert bot.calls[0]["k"] == 2
    assert answers.get(reply_answer_id(final)).answer.question == "What maths do I need?"


def test_k_is_clamped_and_defaults_to_the_settings():
    bot = FakeAssistant()
    chat = make_chat_fn(bot, RecentAnswers())
    for given, expected in ((None, 4), (0, 4), (99, MAX_K), (-3, 1), (3.0, 3)):
        list(chat("What maths do I need?", [], None, given))
        assert bot.calls[-1]["k"] == expected


def test_notice_shows_once_as_a_banner():
    notice = "The language model could not answer (timeout): here are the most relevant passages instead."
    final = list(make_chat_fn(FakeAssistant(notice=notice), RecentAnswers())("Deploy?", []))[-1]
    assert final.count(notice) == 1 and 'class="mlc-notice"' in final and "(fallback)" in final


def test_errors_are_shown_not_raised():
    bad = list(make_chat_fn(FakeAssistant(fail=InvalidQuestionError("empty / vide <b>")), RecentAnswers())("", []))
    assert bad == ["empty / vide &lt;b&gt;"]
    crash = list(make_chat_fn(FakeAssistant(fail=RuntimeError("boom")), RecentAnswers())("Q?", []))
    assert "mlc-error" in crash[-1] and "boom" not in crash[-1]


def test_stop_marks_the_cut_short_answer_only():
    states = list(make_chat_fn(FakeAssistant(), RecentAnswers())("What maths do I need?", []))
    history = [{"role": "user", "content": _parts("What maths do I need?")}, {"role": "assistant", "content": _parts(states[0]), "metadata": None}]
    stopped = mark_stopped(history)
    assert "Answer stopped." in stopped[-1]["content"] and stopped[-1]["metadata"] is None and stopped[0] == history[0]
    finished = [history[0], {"role": "assistant", "content": _parts(states[-1])}]
    assert mark_stopped(finished) == finished and mark_stopped([]) == []


def test_history_gives_earlier_answers_as_text_without_their_cards():
    bot = FakeAssistant()
    answers = RecentAnswers()
    chat = make_chat_fn(bot, answers)
    first = list(chat("What maths do I need?", []))[-1]
    history = [{"role": "user", "content": _parts("What maths do I need?")}, {"role": "assistant", "content": _parts(first)}]
    list(chat("and for deep learning?", history))
    assert bot.calls[-1]["history"] == [("user", "What maths do I need?"), ("assistant", "Here is what the sources say:\n\n- Vectors matter. [1]")]
    # After a restart the answer is no longer remembered: its text is read back from the page.
    assert history_turns(history, RecentAnswers())[1] == ("assistant", "Here is what the sources say:\n- Vectors matter. [1]")


def test_feedback_is_stored_with_question_answer_and_sources(tmp_path: Path):
    answers = RecentAnswers()
    final = list(make_chat_fn(FakeAssistant(), answers)("What maths do I need?", [], None, 3))[-1]
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    record = make_feedback_fn(store, answers)
    history = [{"role": "user", "content": _parts("What maths do I need?")}, {"role": "assistant", "content": _parts(final)}]
    record(history, SimpleNamespace(index=1, value=[final], liked=True))
    record(history, SimpleNamespace(index=1, value=[final], liked=""))  # the thumb clicked off again
    record(history, SimpleNamespace(index=0, value=["not an answer"], liked=False))  # ignored
    rows = [json.loads(line) for line in store.path.read_text().splitlines()]
    assert [r["rating"] for r in rows] == ["up", "withdrawn"]
    assert rows[0]["question"] == "What maths do I need?" and rows[0]["k"] == 3
    assert rows[0]["sources"][0]["title"] == "Maths" and rows[0]["answer"].endswith("[1]")
    # An answer given before a restart is still stored, from what the page shows.
    make_feedback_fn(store, RecentAnswers())(history, SimpleNamespace(index=1, value=[final], liked=False))
    last = json.loads(store.path.read_text().splitlines()[-1])
    assert last["rating"] == "down" and last["question"] == "What maths do I need?" and last["backend"] == "unknown"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("first", "follow_up", "language"),
    [
        ("Quelles compétences en mathématiques faut-il ?", "et en programmation ?", "fr"),
        ("What mathematics skills do I need?", "and for deployment?", "en"),
    ],
)
def test_follow_ups_through_the_chat_function_carry_the_topic(article_assistant: Assistant, first: str, follow_up: str, language: str):
    answers = RecentAnswers()
    chat = make_chat_fn(article_assistant, answers)
    reply = list(chat(first, []))[-1]
    history = [{"role": "user", "content": _parts(first)}, {"role": "assistant", "content": _parts(reply)}]
    second = list(chat(follow_up, history))[-1]
    answer = answers.get(reply_answer_id(second)).answer
    assert answer.language == language and answer.sources
    assert first in answer.query and follow_up in answer.query  # made standalone from the history


@pytest.mark.integration
def test_history_is_capped(article_assistant: Assistant, monkeypatch: pytest.MonkeyPatch):
    seen: list[list[tuple[str, str]]] = []
    original = article_assistant.stream_events

    def spy(question: str, history: Any = None, **kwargs: Any) -> Iterator[AnswerEvent]:
        events = original(question, history, **kwargs)
        seen.append(list(history or []))
        return events

    monkeypatch.setattr(article_assistant, "stream_events", spy)
    history = []
    for i in range(30):
        history += [{"role": "user", "content": _parts(f"question {i}")}, {"role": "assistant", "content": _parts(f"answer {i}")}]
    final = list(make_chat_fn(article_assistant, RecentAnswers())("Quelles compétences en mathématiques ?", history))[-1]
    cap = article_assistant.settings.max_history_turns
    assert "mlc-footer" in final and len(seen[0]) == 2 * cap
    assert seen[0][0] == ("user", f"question {30 - cap}") and seen[0][-1] == ("assistant", "answer 29")


@pytest.mark.integration
def test_settings_pick_the_backend_when_several_are_configured(article_assistant: Assistant, monkeypatch: pytest.MonkeyPatch):
    from assistant.answering.backends import AnswerBackend, GenerationRequest
    from assistant.serving.ui import backend_choices

    class EchoBackend(AnswerBackend):
        name = "echo"

        def stream(self, request: GenerationRequest) -> Iterator[str]:
            yield f"Echo. [{request.passages[0].n}]"

    assert backend_choices(article_assistant) == ["extractive"]
    monkeypatch.setattr(article_assistant, "backend", EchoBackend())
    assert backend_choices(article_assistant) == ["echo", "extractive"]
    answers = RecentAnswers()
    chat = make_chat_fn(article_assistant, answers)
    question = "Quelles compétences en mathématiques faut-il ?"
    for picked in ("echo", "extractive"):
        final = list(chat(question, [], picked, 2))[-1]
        answer = answers.get(reply_answer_id(final)).answer
        assert answer.backend == picked and answer.notice is None and len(answer.sources) == 2
