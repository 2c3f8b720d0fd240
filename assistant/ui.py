"""The Gradio web chat: streamed answers with their numbered, escaped sources underneath."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import gradio as gr

from .chat import Assistant
from .errors import AssistantError
from .language import detect_language
from .rendering import LABELS, answer_text, escape_text, sources_markdown

log = logging.getLogger(__name__)

EXAMPLES = [
    "Quelles compétences en mathématiques faut-il pour le machine learning ?",
    "How important is software engineering for an ML engineer?",
    "Comment déployer et surveiller un modèle en production ?",
    "How do I keep up with new machine learning research?",
]

DESCRIPTION = (
    "Questions sur le métier d'ingénieur en machine learning, en français ou en anglais. · "
    "Ask about the machine-learning-engineer career, in French or English. "
    "Les réponses citent leurs sources · Answers cite their sources."
)


def _history_pairs(history: list[dict]) -> list[tuple[str, str]]:
    pairs = []
    for message in history:
        role, content = message.get("role"), message.get("content")
        if role in ("user", "assistant") and isinstance(content, str):
            # Only the answer part of earlier replies, not their rendered sources.
            pairs.append((role, content.split("\n\n---\n\n")[0]))
    return pairs


def make_chat_fn(assistant: Assistant):  # noqa: ANN201 - Gradio inspects the returned function
    def respond(message: str, history: list[dict]) -> Iterator[str]:
        try:
            events = assistant.stream_events(message, _history_pairs(history))
            sources_block, text = "", ""
            for event in events:
                if event.kind == "sources":
                    language = detect_language(message)
                    sources_block = sources_markdown(event.sources, language)
                    yield _compose(LABELS[language]["searching"], sources_block)
                elif event.kind == "delta":
                    text += event.delta
                    yield _compose(answer_text(text), sources_block)
                elif event.answer is not None:
                    footer = f"*{escape_text(event.answer.backend)}*"
                    yield _compose(answer_text(event.answer.text) + "\n\n" + footer, sources_block)
        except AssistantError as exc:
            yield escape_text(str(exc))
        except Exception:  # the chat must keep serving whatever one request hits
            log.exception("chat request failed")
            yield "Something went wrong on our side; please try again. / Une erreur est survenue ; réessayez."

    return respond


def _compose(body: str, sources_block: str) -> str:
    return f"{body}\n\n---\n\n{sources_block}" if sources_block else body


def build_ui(assistant: Assistant) -> gr.Blocks:
    settings = assistant.settings
    chatbot = gr.Chatbot(
        label="ML career assistant",
        height="70vh",
        sanitize_html=True,
        render_markdown=True,
        allow_tags=False,
        buttons=["copy"],
    )
    textbox = gr.Textbox(
        placeholder="Posez votre question… / Ask your question…",
        max_length=settings.max_question_chars,
        show_label=False,
        submit_btn=True,
        stop_btn=True,
    )
    demo = gr.ChatInterface(
        fn=make_chat_fn(assistant),
        chatbot=chatbot,
        textbox=textbox,
        title="Assistant carrière ML · ML career assistant",
        description=DESCRIPTION,
        examples=EXAMPLES,
        cache_examples=False,
        concurrency_limit=settings.concurrency_limit,
        api_name="chat",
        fill_height=True,
    )
    demo.queue(default_concurrency_limit=settings.concurrency_limit)
    return demo
