"""Every corpus document is well formed, paired across languages and free of duplicates."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from assistant.chunking import chunk_documents
from assistant.config import PROJECT_ROOT
from assistant.evaluation import ARTICLE_EVAL_SET, DEFAULT_EVAL_SET, HELDOUT_EVAL_SET, load_eval_set
from assistant.sources import load_sources, split_front_matter

RESOURCES = PROJECT_ROOT / "corpus" / "resources"
DOCS = sorted(RESOURCES.glob("*.md"))
TOPICS = {
    "maths", "statistics", "programming", "python", "machine-learning", "deep-learning", "data",
    "software-engineering", "deployment", "mlops", "communication", "teamwork", "continuous-learning",
    "career", "roadmap", "roles", "portfolio", "interviews", "tools", "books", "courses", "communities",
    "education", "certifications", "salaries", "job-market", "job-search", "specialisations", "llm", "regulation",
    "responsible-ai", "freelancing", "remote-work", "career-switch", "timelines", "day-to-day", "progression",
}


def _parse(path: Path) -> tuple[dict, str]:
    return split_front_matter(path.read_text("utf-8"))


def test_there_are_at_least_60_resources():
    assert len(DOCS) >= 60


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_front_matter_is_complete(path: Path):
    meta, body = _parse(path)
    assert isinstance(meta.get("title"), str) and meta["title"].strip()
    assert meta.get("lang") in {"fr", "en"} and path.name.endswith(f".{meta['lang']}.md")
    assert meta.get("topics") and set(meta["topics"]) <= TOPICS
    sources = meta.get("sources")
    assert sources and all(re.fullmatch(r"https?://\S+", s) for s in sources)
    for url in re.findall(r"https?://[^\s)>\]]+", body):
        assert url.rstrip(".,;:") in sources, f"{url} is linked in the text but not listed in sources"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_no_empty_sections(path: Path):
    _, body = _parse(path)
    parts = re.split(r"^#{1,4} .+$", body, flags=re.MULTILINE)
    headings = re.findall(r"^#{1,4} .+$", body, flags=re.MULTILINE)
    for heading, text in zip(headings, parts[1:]):
        nested = heading.startswith("## ") and text.strip() == ""
        following = body.split(heading, 1)[1].lstrip().startswith("###")
        assert text.strip() or (nested and following), f"empty section {heading!r} in {path.name}"
    assert "<" not in re.sub(r"<https?://[^>]+>", "", body), "no raw HTML in curated documents"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_listed_questions_name_real_sections(path: Path):
    """Front matter `questions` (what the search matches user questions against): one list per heading."""
    meta, body = _parse(path)
    headings = [h.strip() for h in re.findall(r"^#{2,4} (.+)$", body, flags=re.MULTILINE)]
    questions = meta.get("questions")
    assert isinstance(questions, dict), "every curated document lists the questions its sections answer"
    assert sorted(questions) == sorted(headings)
    for heading, asked in questions.items():
        assert isinstance(asked, list) and len(asked) >= 2, heading
        assert all(isinstance(q, str) and 10 <= len(q) <= 200 and "http" not in q for q in asked), heading
        assert len(set(asked)) == len(asked), heading


def test_every_topic_exists_in_both_languages():
    stems = Counter(p.name.rsplit(".", 2)[0] for p in DOCS)
    assert {stem for stem, n in stems.items() if n != 2} == set()
    for stem in stems:
        fr = re.findall(r"^## ", _parse(RESOURCES / f"{stem}.fr.md")[1], flags=re.MULTILINE)
        en = re.findall(r"^## ", _parse(RESOURCES / f"{stem}.en.md")[1], flags=re.MULTILINE)
        assert len(fr) == len(en), f"{stem}: the two languages have different section counts"


def test_no_duplicate_chunks_across_the_corpus():
    documents, skipped = load_sources([PROJECT_ROOT / "corpus"])
    assert not skipped
    texts = Counter(c.text for c in chunk_documents(documents))
    assert [t[:60] for t, n in texts.items() if n > 1] == []


def test_the_article_states_its_origin():
    meta, body = _parse(next((PROJECT_ROOT / "corpus" / "article").glob("*.md")))
    assert "seeds" in meta["origin"] and meta["lang"] == "fr"
    assert body.count("\n### ") == 9


@pytest.mark.parametrize(
    "eval_set", [DEFAULT_EVAL_SET, ARTICLE_EVAL_SET, HELDOUT_EVAL_SET], ids=["full", "article", "heldout"]
)
def test_eval_set_points_at_real_sections(eval_set: Path):
    items = load_eval_set(eval_set)
    assert len({i.id for i in items}) == len(items)
    for item in items:
        for expected in item.expected:
            body = (PROJECT_ROOT / expected.source).read_text("utf-8")
            assert re.search(rf"^#+ {re.escape(expected.section)}$", body, flags=re.MULTILINE), (item.id, expected)


def test_eval_set_is_large_enough():
    items = load_eval_set(DEFAULT_EVAL_SET)
    kinds = Counter(i.kind for i in items)
    assert sum(1 for i in items if i.kind == "in_scope" and i.expected) >= 100
    assert kinds["out_of_scope"] >= 20 and kinds["injection"] >= 10
    assert {i.lang for i in items} == {"fr", "en"}
    assert len(load_eval_set(ARTICLE_EVAL_SET)) >= 40
