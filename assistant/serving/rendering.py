"""Safe HTML for the web chat: text from documents and models is escaped or rendered as sanitized Markdown.

Every reply is one line of HTML (no blank lines, so the chat's Markdown renderer treats it as a
single raw HTML block) built only from our own tags; document and model text goes through
`html.escape` or through markdown-it with raw HTML off, images off and http(s)-only links.
The browser's sanitizer (Gradio's `sanitize_html`) is a second layer, not the first.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlparse

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from ..language import Lang
from ..schema import QueueStatus, Source

_CITATION = re.compile(r"\[(\d{1,3})\]")
_PRE = re.compile(r"<pre>.*?</pre>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_LIST_ITEM = re.compile(r"<li>")
_BLOCK_END = re.compile(r"</(?:p|li|h[1-6]|tr|pre|blockquote)>|<br ?/?>")
_ANSWER_ID = re.compile(r'<div class="mlc-answer" data-answer-id="([0-9a-f]{8,32})"')
_PENDING = re.compile(r'<div class="mlc-pending" aria-live="polite"><span class="mlc-dot"></span>[^<]*</div>')
_LANG = re.compile(r'<div class="mlc-answer" data-answer-id="[0-9a-f]+" lang="(fr|en)">')
_BODY = re.compile(r'<div class="mlc-body">(.*?)</div><!--/mlc-body-->', re.DOTALL)
LINK_REL = "noopener noreferrer nofollow"

LABELS: dict[Lang, dict[str, str]] = {
    "fr": {
        "sources": "Sources",
        "searching": "Recherche dans les sources…",
        "writing": "Rédaction de la réponse…",
        "backend": "Réponse",
        "fallback": "repli",
        "scope-guard": "hors du périmètre, aucune source citée",
        "passage": "Afficher le passage",
        "lang": "Langue du document",
        "notice": "Avis",
        "error": "Erreur",
        "stopped": "Réponse interrompue.",
    },
    "en": {
        "sources": "Sources",
        "searching": "Searching the sources…",
        "writing": "Writing the answer…",
        "backend": "Answered by",
        "fallback": "fallback",
        "scope-guard": "out of scope, no source cited",
        "passage": "Show the passage",
        "lang": "Document language",
        "notice": "Notice",
        "error": "Error",
        "stopped": "Answer stopped.",
    },
}


def escape_html(text: str) -> str:
    """Text for an HTML element or quoted attribute."""
    return html.escape(text, quote=True)


def safe_url(url: str | None) -> str | None:
    """Only absolute http(s) links survive: no javascript:, data: or relative paths."""
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c in url for c in "<>\"' `\\"):
        return None
    return url


def _citations(state: StateCore) -> None:
    """Turns [n] in plain text into citation tokens (never inside code or link targets)."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        for token in block.children:
            if token.type != "text" or not _CITATION.search(token.content):
                children.append(token)
                continue
            position = 0
            for match in _CITATION.finditer(token.content):
                if match.start() > position:
                    children.append(_text_token(token.content[position : match.start()]))
                cite = Token("citation", "", 0)
                cite.meta = {"n": int(match.group(1))}
                children.append(cite)
                position = match.end()
            if position < len(token.content):
                children.append(_text_token(token.content[position:]))
        block.children = children


def _text_token(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _render_citation(self: RendererHTML, tokens: Sequence[Token], idx: int, options: object, env: dict) -> str:
    n = tokens[idx].meta["n"]
    title = env.get("titles", {}).get(n)
    attr = f' title="{escape_html(title)}"' if title else ""
    return f'<span class="mlc-cite"{attr}>[{n}]</span>'


def _render_link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: object, env: dict) -> str:
    tokens[idx].attrSet("target", "_blank")
    tokens[idx].attrSet("rel", LINK_REL)
    return self.renderToken(tokens, idx, options, env)  # type: ignore[arg-type]


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    # Images load on sight: a model tricked by a document could leak data through their URLs.
    md.disable(["image"])
    md.validateLink = lambda url: safe_url(url) is not None  # type: ignore[method-assign]
    md.core.ruler.push("citations", _citations)
    md.add_render_rule("citation", _render_citation)
    md.add_render_rule("link_open", _render_link_open)
    return md


_MARKDOWN = _markdown()


def _one_line(markup: str) -> str:
    """No newline at all, so no blank line can end the chat renderer's raw HTML block early."""
    markup = _PRE.sub(lambda m: m.group(0).replace("\n", "&#10;"), markup)
    return markup.replace("\n", " ").strip()


def markdown_html(text: str, titles: dict[int, str] | None = None) -> str:
    """Sanitized Markdown as one line of HTML: raw HTML escaped, no images, http(s) links only."""
    return _one_line(_MARKDOWN.render(text, {"titles": titles or {}}))


def _where(source: Source) -> str:
    return " › ".join(part.strip() for part in [source.title, *source.section.split(">")] if part.strip())


def source_card(source: Source, language: Lang) -> str:
    """One numbered card: title, section, language, link to the original, the passage on demand."""
    labels = LABELS[language]
    url = safe_url(source.url)
    if url:
        host = urlparse(url).netloc.removeprefix("www.")
        origin = f'<a class="mlc-link" href="{escape_html(url)}" target="_blank" rel="{LINK_REL}">{escape_html(host)} ↗</a>'
    else:
        name = source.source.rstrip("/").rsplit("/", 1)[-1] or source.source
        origin = f'<span class="mlc-path" title="{escape_html(source.source)}">{escape_html(name)}</span>'
    section = " › ".join(part.strip() for part in source.section.split(">") if part.strip())
    return (
        f'<li class="mlc-card" value="{source.n}">'
        f'<div class="mlc-card-head"><span class="mlc-n">{source.n}</span>'
        f'<span class="mlc-card-title" title="{escape_html(source.title)}">{escape_html(source.title)}</span></div>'
        f'<div class="mlc-card-meta">'
        + (f'<span class="mlc-section">{escape_html(section)}</span>' if section else "")
        + f'<span class="mlc-lang" title="{labels["lang"]}">{escape_html(source.lang.upper())}</span>{origin}</div>'
        f'<details class="mlc-passage"><summary>{labels["passage"]}</summary>'
        f'<div class="mlc-passage-text">{markdown_html(source.text)}</div></details></li>'
    )


def sources_html(sources: Sequence[Source], language: Lang) -> str:
    """The numbered cards matching the [n] citations, or nothing when no passage was used."""
    if not sources:
        return ""
    cards = "".join(source_card(s, language) for s in sources)
    return (
        f'<div class="mlc-sources"><div class="mlc-sources-title">{LABELS[language]["sources"]} ({len(sources)})</div>'
        f'<ol class="mlc-cards">{cards}</ol></div>'
    )


@dataclass(frozen=True)
class ReplyView:
    """What one assistant message shows at one moment of its stream."""

    answer_id: str
    language: Lang
    text: str = ""
    sources: list[Source] = field(default_factory=list)
    retrieving: bool = True
    backend: str | None = None
    notice: str | None = None
    error: str | None = None
    waiting: QueueStatus | None = None  # the answer waits for the busy model


def waiting_label(waiting: QueueStatus, language: Lang) -> str:
    if language == "fr":
        return f"En attente du modèle : position {waiting.position} dans la file, environ {waiting.expected_seconds:.0f} s"
    return f"Waiting for the model: position {waiting.position} in line, about {waiting.expected_seconds:.0f} s"


def backend_label(backend: str, language: Lang, fell_back: bool) -> str:
    """'Answered by: extractive (fallback)', or the scope guard said in words."""
    labels = LABELS[language]
    if backend == "scope-guard":
        return labels["scope-guard"]
    suffix = f" ({labels['fallback']})" if fell_back else ""
    return f"{labels['backend']} : {backend}{suffix}" if language == "fr" else f"{labels['backend']}: {backend}{suffix}"


def render_reply(view: ReplyView) -> str:
    """The whole assistant message: notice banner, answer, who answered, source cards."""
    labels = LABELS[view.language]
    parts = [f'<div class="mlc-answer" data-answer-id="{view.answer_id}" lang="{view.language}">']
    if view.notice:
        parts.append(f'<div class="mlc-notice" role="status"><strong>{labels["notice"]}</strong> {escape_html(view.notice)}</div>')
    if view.error:
        parts.append(f'<div class="mlc-error" role="alert"><strong>{labels["error"]}</strong> {escape_html(view.error)}</div>')
    titles = {s.n: _where(s) for s in view.sources}
    body = markdown_html(view.text, titles) if view.text else ""
    parts.append(f'<div class="mlc-body">{body}</div><!--/mlc-body-->')
    if view.backend is None and view.error is None:
        status = labels["searching"] if view.retrieving else labels["writing"]
        if view.waiting is not None:
            status = escape_html(waiting_label(view.waiting, view.language))
        parts.append(f'<div class="mlc-pending" aria-live="polite"><span class="mlc-dot"></span>{status}</div>')
    elif view.backend is not None:
        label = backend_label(view.backend, view.language, fell_back=bool(view.notice))
        parts.append(f'<div class="mlc-footer"><span class="mlc-backend">{escape_html(label)}</span></div>')
    parts.append(sources_html(view.sources, view.language))
    parts.append("</div>")
    return "".join(parts)


def stopped_reply(content: str) -> str:
    """A reply cut short by the stop button says so, instead of 'Writing the answer…' forever."""
    language = _LANG.search(content)
    if language is None:
        return content
    label = LABELS[language.group(1)]["stopped"]  # type: ignore[index]
    return _PENDING.sub(f'<div class="mlc-stopped" role="status">{label}</div>', content, count=1)


def reply_answer_id(content: str) -> str | None:
    """The id of an answer rendered by `render_reply`, to find it again when it gets a thumbs up/down."""
    match = _ANSWER_ID.search(content)
    return match.group(1) if match else None


def reply_text(content: str) -> str:
    """The plain answer text of a rendered reply (no sources), for the conversation history."""
    match = _BODY.search(content)
    if match is None:
        return content
    markup = _LIST_ITEM.sub("- ", match.group(1))
    markup = _BLOCK_END.sub("\n", markup)
    lines = (line.strip() for line in html.unescape(_TAG.sub("", markup)).splitlines())
    return "\n".join(line for line in lines if line)
