"""Markdown and plain-text files, with optional YAML front matter (title, lang, topics, sources, questions)."""

from __future__ import annotations

import re

import yaml

from ..errors import SourceError
from .base import Extracted, TextFormat, TextPart, decode_text, require_text
from .headings import mark_headings

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_FIRST_HEADING = re.compile(r"^#\s+(.+)$", re.MULTILINE)


def split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """Front matter as a dict, and the body; parsed with `yaml.safe_load`, never a full loader."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +1 for 1-based, +1 for the opening ---
        raise SourceError(f"invalid YAML front matter{where}: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(meta, dict):
        raise SourceError("front matter must be a YAML mapping")
    return meta, text[match.end():]


def first_heading(body: str) -> str | None:
    match = _FIRST_HEADING.search(body)
    return match.group(1).strip() if match else None


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _load(data: bytes, charset: str | None, fmt: TextFormat) -> Extracted:
    meta, body = split_front_matter(decode_text(data, charset))
    if fmt == "text":
        # Bare heading lines become Markdown headings, so chunks follow the text's sections.
        body, fmt = mark_headings([body])[0], "markdown"
    parts = require_text([TextPart(body)])
    return Extracted(
        parts=parts,
        format=fmt,
        title=str(meta.get("title") or first_heading(body) or "") or None,
        lang=str(meta["lang"]) if meta.get("lang") else None,
        topics=_strings(meta.get("topics")),
        links=_strings(meta.get("sources")),
        questions=_questions(meta.get("questions")),
    )


def _questions(value: object) -> dict[str, tuple[str, ...]]:
    """`questions:` maps a section heading to the questions it answers; anything else is ignored."""
    if not isinstance(value, dict):
        return {}
    return {str(heading).strip(): _strings(asked) for heading, asked in value.items() if _strings(asked)}


def load_markdown(data: bytes, charset: str | None = None) -> Extracted:
    """A Markdown document: its headings drive the chunking."""
    return _load(data, charset, "markdown")


def load_plain_text(data: bytes, charset: str | None = None) -> Extracted:
    """A plain-text document: its heading lines (bare, underlined, numbered or `#`) become sections."""
    return _load(data, charset, "text")
