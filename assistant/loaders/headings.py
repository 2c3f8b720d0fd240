"""Headings in plain text: bare heading lines, underlined and numbered headings become Markdown ones.

Text files and PDF pages carry their structure as lines, not markup: "Introduction" on a line
of its own, then a paragraph. Left as plain text, a document becomes a few long chunks with no
section names, so citations say nothing and every chunk mixes topics. This module marks the
heading lines with `##`/`###` so the chunker (LangChain's MarkdownHeaderTextSplitter) follows
sections and every chunk carries its heading path. Hand-written because no library recognises
bare heading lines; the rules are conservative, so ordinary paragraphs are never taken for
headings.

A line is a heading when it is short (at most 12 words and 80 characters), starts with a capital
letter or a section number, does not end with punctuation, stands after a blank line, a finished
sentence or another heading, and is followed by body text (directly, or after its own
sub-heading). A heading followed directly by another heading is a parent: the headings after it
are its children until the next parent or a document-level section (Introduction, Conclusion,
References...). Lines repeated on several PDF pages (running headers and footers) are never
headings.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

_ATX = re.compile(r"^#{1,6}\s+\S", re.MULTILINE)
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
_NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.?\s+(?=\S)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•–]|\d+[.)](?=\s)|[a-z][.)]\s)")
_FINAL_PUNCTUATION = ".,;:!?…"
_SENTENCE_END = ".!?:…»\")"
_BODY_START = re.compile(r"^[\W\d]*[A-ZÀ-ÖØ-Þ0-9«\"“(\[]|^\s*[-*+•–]\s")
# Sections that sit at the top of a document whatever precedes them.
_TOP_LEVEL = {
    "introduction", "conclusion", "conclusions", "summary", "abstract", "references", "bibliography",
    "acknowledgements", "acknowledgments", "appendix", "annexe", "annexes", "résumé", "sommaire",
    "bibliographie", "remerciements", "références", "avant-propos", "preface", "préface", "foreword",
    "glossary", "glossaire", "further reading", "pour aller plus loin", "en résumé", "in summary",
}
MAX_WORDS = 12
MAX_CHARS = 80


@dataclass(frozen=True)
class _Line:
    page: int
    text: str


def _words(text: str) -> list[str]:
    return text.split()


def _is_candidate(text: str) -> bool:
    stripped = text.strip()
    if not (2 <= len(stripped) <= MAX_CHARS) or len(_words(stripped)) > MAX_WORDS:
        return False
    if stripped[-1] in _FINAL_PUNCTUATION or _UNDERLINE.match(stripped):
        return False
    body = _NUMBERED.sub("", stripped, count=1)
    if not body or not body[0].isalpha() or not body[0].isupper():
        return False
    if _LIST_ITEM.match(stripped) and not _NUMBERED.match(stripped):
        return False
    return any(c.isalpha() for c in body)


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip()
    return not stripped or stripped[-1] in _SENTENCE_END


def _repeated_lines(pages: list[str]) -> set[str]:
    """Lines on at least three pages and at least half of them: running headers and footers."""
    if len(pages) < 3:
        return set()
    counts = Counter(line for page in pages for line in {ln.strip() for ln in page.splitlines()} if line)
    return {line for line, n in counts.items() if n >= max(3, len(pages) // 2)}


def _numbered_level(text: str) -> int | None:
    match = _NUMBERED.match(text.strip())
    return 1 + len(match.group(1).split(".")) if match else None


def mark_headings(pages: list[str]) -> list[str]:
    """The pages as Markdown: heading lines marked `##`/`###`; text already in Markdown is left as it is.

    A page that starts inside a section opens with that section's headings again, so each
    page (chunked on its own, as PDF pages are) keeps its heading path.
    """
    if any(_ATX.search(page) for page in pages):
        return pages
    repeated = _repeated_lines(pages)
    lines = [_Line(p, raw.rstrip()) for p, page in enumerate(pages) for raw in page.splitlines()]
    body_lengths = [len(ln.text.strip()) for ln in lines if ln.text.strip() and not _is_candidate(ln.text)]
    # Wrapped text (PDF pages, hard-wrapped files): a heading is clearly shorter than a full line.
    median = statistics.median(body_lengths) if body_lengths else 0
    wrapped_width = median if 40 <= median <= 140 else None

    def candidate(i: int, after_heading: bool = False) -> bool:
        text = lines[i].text.strip()
        if text in repeated or not _is_candidate(text):
            return False
        if wrapped_width is not None and len(text) > 0.75 * wrapped_width and _numbered_level(text) is None:
            return False
        before = lines[i - 1].text if i > 0 and lines[i - 1].page == lines[i].page else ""
        return after_heading or (i - 1) in levels or _ends_sentence(before) or _UNDERLINE.match(before) is not None

    def next_content(i: int) -> int | None:
        j = i + 1
        while j < len(lines) and (not lines[j].text.strip() or lines[j].text.strip() in repeated):
            j += 1
        return j if j < len(lines) else None

    levels: dict[int, int] = {}
    underlined: dict[int, str] = {}
    for i, line in enumerate(lines):
        # Underlined headings: "Title" then "=====" or "-----" on the next line.
        if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1].text) and line.text.strip() and _is_candidate(line.text):
            underlined[i] = lines[i + 1].text.strip()[0]
    kinds = sorted(set(underlined.values()), key="=-".index)
    for i, mark in underlined.items():
        levels[i] = 2 + kinds.index(mark)

    parent_open = False
    i = 0
    while i < len(lines):
        if i in levels or not candidate(i):
            i += 1
            continue
        j = next_content(i)
        if j is None:
            break
        text = lines[i].text.strip()
        numbered = _numbered_level(text)
        follower_is_heading = candidate(j, after_heading=True) and j not in levels
        if follower_is_heading:
            k = next_content(j)
            # Three headings in a row are a list or a table of contents, not a section.
            if k is None or (candidate(k, after_heading=True) and _numbered_level(lines[k].text) is None and numbered is None):
                i = j + 1
                continue
        elif not _BODY_START.match(lines[j].text.strip()):
            i += 1
            continue
        if numbered is not None:
            levels[i] = min(numbered, 4)
        elif follower_is_heading or text.lower() in _TOP_LEVEL:
            levels[i] = 2
            parent_open = follower_is_heading
        else:
            levels[i] = 3 if parent_open else 2
        i += 1

    return _render(pages, lines, levels, underlined)


def _render(pages: list[str], lines: list[_Line], levels: dict[int, int], underlined: dict[int, str]) -> list[str]:
    out: list[list[str]] = [[] for _ in pages]
    open_path: dict[int, str] = {}
    underlines = {i + 1 for i in underlined}
    for i, line in enumerate(lines):
        page = out[line.page]
        if i in underlines:
            continue
        if i in levels:
            level = levels[i]
            open_path = {lv: t for lv, t in open_path.items() if lv < level}
            open_path[level] = line.text.strip()
            if page and page[-1].strip():
                page.append("")
            page.append(f"{'#' * level} {line.text.strip()}")
            continue
        if open_path and line.text.strip() and not any(p.strip() for p in page):
            # A page that continues a section: its headings again, so the chunker knows where it is.
            page.extend(f"{'#' * lv} {t}" for lv, t in sorted(open_path.items()))
        page.append(line.text)
    return ["\n".join(p) for p in out]
