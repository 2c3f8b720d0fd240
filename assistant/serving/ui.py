"""The Gradio web chat: streamed answers with numbered source cards, settings, and thumbs up/down feedback."""

from __future__ import annotations

import inspect
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import FastAPI

from ..chat import Assistant
from ..config import Settings
from ..conversation import question_language
from ..errors import AssistantError
from .feedback import FeedbackRecord, FeedbackStore, Rating
from ..language import Lang, detect_language
from .rendering import ReplyView, escape_html, render_reply, reply_answer_id, reply_text, stopped_reply
from ..schema import Answer

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).parent / "web"
TITLE = "Assistant carrière ML · ML career assistant"
MAX_K = 10
# Re-rendering the whole reply for every token is wasteful; a few frames a second reads as live.
STREAM_INTERVAL = 0.06

EXAMPLES = [
    "Quelles compétences en mathématiques faut-il pour le machine learning ?",
    "How important is software engineering for an ML engineer?",
    "Comment déployer et surveiller un modèle en production ?",
    "Which books should I read to learn deep learning?",
    "Comment se préparer à un entretien d'ingénieur ML ?",
    "How do I keep up with new machine learning research?",
]

PLACEHOLDER = (
    "### Bienvenue · Welcome\n"
    "Posez une question sur le métier d'ingénieur en machine learning, en français ou en anglais ; "
    "les suites comme « et pour le deep learning ? » fonctionnent.\n\n"
    "Ask about the machine-learning-engineer career in French or English; follow-ups such as "
    "\"and for deep learning?\" work. Every answer cites its sources."
)

THANKS = {"up": "Merci pour votre retour · Thanks for the feedback", "down": "Merci, c'est noté · Thanks, noted"}
GENERIC_ERROR = "Une erreur est survenue ; réessayez. · Something went wrong on our side; please try again."


@dataclass(frozen=True)
class ShownAnswer:
    """An answer as the chat showed it, kept so a later thumbs up/down can store it whole."""

    answer: Answer
    k: int


class RecentAnswers:
    """The last answers shown, by id; bounded, so a long-running server does not grow."""

    def __init__(self, size: int = 2048) -> None:
        self._items: OrderedDict[str, ShownAnswer] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, answer_id: str, shown: ShownAnswer) -> None:
        with self._lock:
            self._items[answer_id] = shown
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, answer_id: str | None) -> ShownAnswer | None:
        with self._lock:
            return self._items.get(answer_id) if answer_id else None


def message_text(content: Any) -> str:
    """The text of a chat message, whether Gradio hands it over as a string or as content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, (list, tuple)):
        return "\n".join(text for text in (message_text(part) for part in content) if text)
    return ""


def history_turns(history: list[dict], answers: RecentAnswers, max_turns: int | None = None) -> list[tuple[str, str]]:
    """(role, text) pairs for the assistant, the last `max_turns` exchanges: answers as text, without their cards."""
    turns: list[tuple[str, str]] = []
    for message in history or []:
        role, text = message.get("role"), message_text(message.get("content"))
        if role not in ("user", "assistant") or not text.strip():
            continue
        if role == "assistant":
            shown = answers.get(reply_answer_id(text))
            text = shown.answer.text if shown else reply_text(text)
        turns.append((role, text))
    if max_turns is None:
        return turns
    return turns[-2 * max_turns :] if max_turns > 0 else []


def backend_choices(assistant: Assistant) -> list[str]:
    """Backends a user may pick: the Assistant's list when it has one, else the one it runs."""
    names = getattr(assistant, "backend_names", None)
    names = names() if callable(names) else names
    return list(names) if names else [assistant.backend.name]


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _body_without_notice(text: str, notice: str | None) -> str:
    """The notice shows as a banner, so it is not repeated inside the answer."""
    if notice and notice in text:
        return text.replace(notice, "", 1).strip()
    return text


def make_chat_fn(assistant: Assistant, answers: RecentAnswers) -> Callable[..., Iterator[str]]:
    """The ChatInterface function: (message, history, backend, k) -> successive renderings of the reply."""
    default_k = assistant.settings.top_k
    max_turns = assistant.settings.max_history_turns
    choose_backend = _accepts(assistant.stream_events, "backend")
    can_cancel = _accepts(assistant.stream_events, "cancel")

    def respond(message: str, history: list[dict], backend: str | None = None, k: float | None = None) -> Iterator[str]:
        answer_id = uuid.uuid4().hex[:16]
        turns = history_turns(history, answers, max_turns)
        language: Lang = question_language(message or "", turns)
        passages = max(1, min(int(k or default_k), MAX_K))
        options: dict[str, Any] = {"k": passages}
        if choose_backend and backend and backend in backend_choices(assistant):
            options["backend"] = backend
        view = ReplyView(answer_id=answer_id, language=language)
        cancel = threading.Event()
        if can_cancel:
            options["cancel"] = cancel  # the stop button closes this generator: the model stops too
        try:
            events = assistant.stream_events(message, turns, **options)
            text, last = "", 0.0
            for event in events:
                if event.kind == "sources":
                    view = replace(view, sources=event.sources, retrieving=False)
                    yield render_reply(view)
                elif event.kind == "status":
                    view = replace(view, waiting=event.waiting)
                    yield render_reply(view)
                elif event.kind == "delta":
                    text += event.delta
                    view = replace(view, text=text, waiting=None)
                    if time.monotonic() - last >= STREAM_INTERVAL:
                        last = time.monotonic()
                        yield render_reply(view)
                elif event.answer is not None:
                    answer = event.answer
                    answers.put(answer_id, ShownAnswer(answer=answer, k=passages))
                    view = replace(
                        view,
                        text=_body_without_notice(answer.text, answer.notice),
                        language=answer.language,
                        backend=answer.backend,
                        notice=answer.notice,
                    )
                    yield render_reply(view)
        except AssistantError as exc:
            # Validation messages are bilingual already; shown as text, escaped like any other.
            yield escape_html(str(exc))
        except Exception:  # the chat must keep serving whatever one request hits
            log.exception("chat request failed")
            yield render_reply(replace(view, error=GENERIC_ERROR))
        finally:
            cancel.set()

    return respond


def mark_stopped(history: list[dict]) -> list[dict]:
    """After the stop button: the cut-short answer says it was stopped (the rest of the chat is unchanged)."""
    if not history or history[-1].get("role") != "assistant":
        return history
    content = message_text(history[-1].get("content"))
    stopped = stopped_reply(content)
    if stopped == content:
        return history
    return [*history[:-1], {**history[-1], "content": stopped}]


def _rating(liked: bool | str) -> Rating:
    if liked is True:
        return "up"
    if liked is False:
        return "down"
    return "withdrawn"


def make_feedback_fn(store: FeedbackStore, answers: RecentAnswers) -> Callable[..., None]:
    """The Chatbot like/dislike handler: stores the vote with its question, answer and sources."""

    def record(history: list[dict], data: gr.LikeData) -> None:
        content = message_text(data.value)
        answer_id = reply_answer_id(content)
        if answer_id is None:  # an error message, not an answer
            return
        rating = _rating(data.liked)
        shown = answers.get(answer_id)
        if shown is not None:
            entry = FeedbackRecord.of(shown.answer, answer_id, rating, k=shown.k)
        else:  # answered before a restart: keep what the page still shows
            index = data.index if isinstance(data.index, int) else data.index[0]
            earlier = [message_text(m.get("content")) for m in (history or [])[:index] if m.get("role") == "user"]
            entry = FeedbackRecord(
                answer_id=answer_id,
                rating=rating,
                question=earlier[-1] if earlier else "",
                answer=reply_text(content),
                language=detect_language(earlier[-1]) if earlier else "en",
                backend="unknown",
            )
        try:
            store.append(entry)
        except OSError as exc:
            log.error("feedback not stored in %s: %s", store.path, exc)
            raise gr.Error("Le retour n'a pas pu être enregistré · Feedback could not be saved") from exc
        if rating != "withdrawn":
            gr.Info(THANKS[rating], duration=3)

    return record


def header_html(assistant: Assistant) -> str:
    """Title, what the assistant covers, and which backend and index answer."""
    manifest = assistant.manifest
    banner = ""
    error = getattr(assistant, "backend_error", None)
    if error:
        banner = (
            f'<div class="mlc-notice mlc-page-notice" role="status"><strong>Avis · Notice</strong> '
            f"Le modèle configuré est indisponible, les réponses sont extractives · The configured model is "
            f"unavailable, answers are extractive ({escape_html(str(error))})</div>"
        )
    return (
        f'<header class="mlc-header"><h1>{TITLE}</h1>'
        '<p class="mlc-tagline">Le métier d\'ingénieur en machine learning : compétences, apprentissage, ressources. '
        "<span>The machine-learning-engineer career: skills, learning paths, resources.</span></p>"
        f'<p class="mlc-status"><span class="mlc-chip" id="mlc-backend">{escape_html(assistant.backend.name)}</span>'
        f'<span class="mlc-chip">{manifest.chunk_count} passages</span>'
        f'<span class="mlc-chip">{escape_html(manifest.embedding_model)}</span></p>{banner}</header>'
    )


def build_ui(assistant: Assistant, settings: Settings | None = None) -> gr.Blocks:
    """The chat page; `mount_ui` serves it with its theme, styles and scripts."""
    settings = settings or assistant.settings
    answers = RecentAnswers()
    store = FeedbackStore(settings.feedback_path)
    backends = backend_choices(assistant)
    with gr.Blocks(title=TITLE, fill_height=True) as demo:
        # A callable: each page load shows the index being served now (it can be rebuilt while serving).
        gr.HTML(lambda: header_html(assistant), js_on_load=None, padding=False)
        chatbot = gr.Chatbot(
            label="ML career assistant",
            show_label=False,
            elem_id="mlc-chat",
            scale=1,
            min_height=360,
            sanitize_html=True,
            render_markdown=True,
            allow_tags=False,
            latex_delimiters=[],
            buttons=["copy", "copy_all"],
            placeholder=PLACEHOLDER,
            layout="bubble",
        )
        textbox = gr.Textbox(
            placeholder="Posez votre question… · Ask your question…",
            max_length=settings.max_question_chars,
            show_label=False,
            submit_btn=True,
            stop_btn=True,
            autofocus=True,
            elem_id="mlc-input",
        )
        backend = gr.Dropdown(
            choices=backends,
            value=backends[0],
            label="Moteur de réponse · Answer backend",
            info=None if len(backends) > 1 else "Un seul configuré · Only one configured",
            interactive=len(backends) > 1,
            elem_id="mlc-backend-choice",
            render=False,
        )
        k = gr.Slider(
            minimum=1,
            maximum=MAX_K,
            step=1,
            value=min(settings.top_k, MAX_K),
            label="Passages par réponse (k) · Passages per answer (k)",
            elem_id="mlc-k",
            render=False,
        )
        gr.ChatInterface(
            fn=make_chat_fn(assistant, answers),
            chatbot=chatbot,
            textbox=textbox,
            additional_inputs=[backend, k],
            additional_inputs_accordion=gr.Accordion("Réglages · Settings", open=False, elem_id="mlc-settings", render=False),
            # [question, None, None]: the settings keep their values, the examples show inside the chat.
            examples=[[question, None, None] for question in EXAMPLES],
            cache_examples=False,
            concurrency_limit=settings.concurrency_limit,
            api_name="chat",
            fill_height=True,
        )
        chatbot.like(make_feedback_fn(store, answers), [chatbot], None, api_visibility="undocumented")
        textbox.stop(mark_stopped, [chatbot], [chatbot], queue=False, api_visibility="undocumented")
    demo.queue(default_concurrency_limit=settings.concurrency_limit)
    return demo


def theme() -> gr.themes.Base:
    """A calm theme whose fonts ship with Gradio (nothing fetched from a font CDN)."""
    # Regular and Bold only: the SemiBold file Gradio ships holds a handful of glyphs.
    font = (gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui", "sans-serif")
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate", radius_size="md", font=font)


def mount_ui(app: FastAPI, assistant: Assistant, settings: Settings | None = None) -> FastAPI:
    """Serves the chat at `/` of the FastAPI app, with its theme, stylesheets and copy-as-text script."""
    script = (WEB_DIR / "chat.js").read_text(encoding="utf-8")
    page_css = (WEB_DIR / "page.css").read_text(encoding="utf-8")
    return gr.mount_gradio_app(
        app,
        build_ui(assistant, settings),
        path="/",
        theme=theme(),
        css_paths=[WEB_DIR / "chat.css"],
        head=f"<style>{page_css}</style><script>{script}</script>",
        footer_links=["api"],
    )
