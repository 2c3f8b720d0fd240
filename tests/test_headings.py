"""Plain text keeps its structure: bare, underlined, numbered and Markdown-style heading lines become sections."""

from __future__ import annotations

import re
from pathlib import Path

from assistant.chunking import chunk_documents
from assistant.config import PROJECT_ROOT
from assistant.evaluation import plain_text_article
from assistant.loaders.headings import mark_headings
from assistant.sources import load_sources

from .sample_files import make_pdf

ARTICLE_MD = next((PROJECT_ROOT / "corpus" / "article").glob("*.md"))
PARAGRAPH = "Models are trained on data and evaluated on held-out sets before they are deployed to production."


def _headings(markdown: str) -> list[str]:
    return re.findall(r"^#+ .+$", markdown, flags=re.MULTILINE)


def _article_text(tmp_path: Path) -> Path:
    return plain_text_article(tmp_path)


def test_the_plain_text_article_gets_the_sections_of_the_markdown_one(tmp_path: Path):
    documents, skipped = load_sources([_article_text(tmp_path)])
    assert not skipped
    chunks = chunk_documents(documents)
    markdown_docs, _ = load_sources([ARTICLE_MD])
    expected = [c.section for c in chunk_documents(markdown_docs)]
    assert len(expected) == 11
    assert [c.section for c in chunks] == expected  # one chunk per section, each with its heading path
    assert "Compréhension des Fondamentaux > Programmation" in expected and "Conclusion" in expected
    assert all(not c.text.startswith("#") and len(c.text) > 150 for c in chunks)


def test_bare_headings_parents_and_document_level_sections():
    text = "\n".join([
        "Getting started",
        PARAGRAPH,
        "Core skills",
        "Mathematics",
        PARAGRAPH,
        "Programming",
        PARAGRAPH,
        "Conclusion",
        PARAGRAPH,
    ])
    assert _headings(mark_headings([text])[0]) == [
        "## Getting started", "## Core skills", "### Mathematics", "### Programming", "## Conclusion",
    ]


def test_underlined_numbered_and_markdown_headings():
    underlined = f"Deployment\n==========\n\n{PARAGRAPH}\n\nMonitoring\n----------\n\n{PARAGRAPH}\n"
    assert _headings(mark_headings([underlined])[0]) == ["## Deployment", "### Monitoring"]
    numbered = f"1. Introduction\n\n{PARAGRAPH}\n\n2.1 Data cleaning\n\n{PARAGRAPH}\n"
    assert _headings(mark_headings([numbered])[0]) == ["## 1. Introduction", "### 2.1 Data cleaning"]
    already = f"# Title\n\n## Section\n\n{PARAGRAPH}\n"
    assert mark_headings([already]) == [already]


def test_sentences_lists_and_wrapped_lines_are_not_headings():
    text = "\n".join([
        "Why the field matters.",          # ends with punctuation
        PARAGRAPH,
        "- Clean the data",                # list items
        "- Train a baseline",
        "- Deploy it",
        "the next line starts lower case",  # not capitalised
        PARAGRAPH,
        "Short line followed by",           # a wrapped paragraph: followed by a lower-case continuation
        "more words of the same sentence that go on and on.",
    ])
    assert _headings(mark_headings([text])[0]) == []


def test_pdf_headings_carry_across_pages(tmp_path: Path):
    wrapped = [
        "Machine learning engineers build, deploy and monitor models in production,",
        "working with data engineers and product teams every day of the week.",
    ]
    page1 = "\n".join(["Deployment basics", *wrapped, "Monitoring in production", *wrapped])
    page2 = "\n".join(["drift is watched on every feature and alerts go to the team on call,", *wrapped])
    (tmp_path / "guide.pdf").write_bytes(make_pdf([page1, page2], title="Guide"))
    documents, skipped = load_sources([tmp_path / "guide.pdf"])
    assert not skipped
    by_page = {(c.metadata["page"], c.section) for c in chunk_documents(documents)}
    assert by_page == {(1, "Deployment basics"), (1, "Monitoring in production"), (2, "Monitoring in production")}


def test_running_headers_of_pdf_pages_are_not_headings(tmp_path: Path):
    pages = [f"Company Handbook\nSection {n} notes\n{PARAGRAPH}" for n in range(1, 5)]
    marked = mark_headings(pages)
    assert all("# Company Handbook" not in page for page in marked)
