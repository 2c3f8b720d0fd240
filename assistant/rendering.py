"""Safe Markdown for the web chat: everything from documents and models is escaped first."""

from __future__ import annotations

import html
import re
from urllib.parse import urlparse

from .language import Lang
from .schema import Source

# Characters that would let text from a document start Markdown constructs (links, images,
# emphasis, code, headings, tables); escaping them shows the text exactly as written.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|>~])")

LABELS: dict[Lang, dict[str, str]] = {
    "fr": {"sources": "Sources", "searching": "Recherche dans les sources…", "backend": "Réponse"},
    "en": {"sources": "Sources", "searching": "Searching the sources…", "backend": "Answered by"},
}


def escape_text(text: str) -> str:
    """Plain text that renders as itself: no HTML, no Markdown markup."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def safe_url(url: str | None) -> str | None:
    """Only absolute http(s) links survive: no javascript:, data: or relative paths."""
    if not url:
        return None
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or any(c in url for c in "<>\"' "):
        return None
    return url


def answer_text(text: str) -> str:
    """The answer body: escaped, but its list markers and [n] citations kept readable."""
    lines = []
    for line in text.splitlines():
        bullet = line.startswith("- ")
        body = escape_text(line[2:] if bullet else line)
        body = re.sub(r"\\\[(\d+)\\\]", r"**[\1]**", body)
        lines.append(f"- {body}" if bullet else body)
    return "\n".join(lines)


def sources_markdown(sources: list[Source], language: Lang) -> str:
    if not sources:
        return ""
    lines = [f"**{LABELS[language]['sources']}**", ""]
    for s in sources:
        where = f"{escape_text(s.title)} › {escape_text(s.section)}" if s.section else escape_text(s.title)
        url = safe_url(s.url)
        link = f" · [{escape_text(urlparse(url).netloc)}]({url})" if url else ""
        lines.append(f"{s.n}. {where} · {escape_text(s.lang)} · {escape_text(s.source)}{link}")
    return "\n".join(lines)
