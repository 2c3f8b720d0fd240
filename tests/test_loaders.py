"""Every file format on real files written here: text, metadata (title, section, lang, page), bad input skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.chunking import chunk_documents
from assistant.sources import SourceLimits, SourceRequest, load_sources

from .sample_files import HTML_WITH_NOISE, make_docx, make_pdf


def _by_name(docs):  # noqa: ANN001, ANN202
    out: dict[str, list] = {}
    for d in docs:
        out.setdefault(Path(str(d.metadata["source"])).name, []).append(d)
    return out


@pytest.fixture()
def mixed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    (folder / "nested" / "deeper").mkdir(parents=True)
    (folder / "page.html").write_text(HTML_WITH_NOISE, "utf-8")
    (folder / "nested" / "notes.pdf").write_bytes(
        make_pdf(
            [
                "Gradient descent updates the weights against the gradient of the loss.\nThe learning rate sets the step.",
                "Docker images make model deployments reproducible across machines.",
            ],
            title="Optimisation notes",
        )
    )
    (folder / "nested" / "deeper" / "guide.docx").write_bytes(
        make_docx(
            "Guide du déploiement",
            {
                "Mise en production": "On emballe le modèle derrière une API et on versionne chaque artefact produit.",
                "Surveillance": "On surveille la latence, les erreurs et la dérive des données en production.",
            },
            table=[["outil", "usage"], ["MLflow", "suivi des expériences"]],
        )
    )
    (folder / "plain.txt").write_text("Feature stores keep training and serving features consistent.\n", "utf-8")
    (folder / "readme.md").write_text("# Read me\n\n## Part\n\nShort Markdown text about version control.\n", "utf-8")
    return folder


def test_every_format_in_a_folder_tree_is_loaded_with_metadata(mixed_folder: Path):
    docs, skipped = load_sources([mixed_folder])
    assert skipped == []
    by = _by_name(docs)
    assert set(by) == {"page.html", "notes.pdf", "guide.docx", "plain.txt", "readme.md"}
    for d in docs:
        assert {"source", "title", "lang", "content_hash", "format"} <= set(d.metadata)
        assert len(str(d.metadata["content_hash"])) == 64

    html = by["page.html"][0]
    assert html.metadata["title"] == "Deploying machine learning models"
    assert html.metadata["lang"] == "en"
    assert "package it behind an HTTP API" in html.page_content
    assert "NOISE" not in html.page_content  # navigation, scripts and footer dropped

    pages = by["notes.pdf"]
    assert [d.metadata["page"] for d in pages] == [1, 2]
    assert pages[0].metadata["title"] == "Optimisation notes"
    assert "Gradient descent" in pages[0].page_content and "Docker" in pages[1].page_content
    assert {d.metadata["source"] for d in pages} == {pages[0].metadata["source"]}

    word = by["guide.docx"][0]
    assert word.metadata["title"] == "Guide du déploiement"
    assert word.metadata["lang"] == "fr"  # detected, nothing declared it
    assert "MLflow | suivi des expériences" in word.page_content


def test_chunks_carry_section_paths_and_pdf_pages(mixed_folder: Path):
    docs, _ = load_sources([mixed_folder])
    chunks = chunk_documents(docs, chunk_size=400, chunk_overlap=50)
    sections = {(Path(str(c.metadata["source"])).name, c.section) for c in chunks}
    assert ("guide.docx", "Surveillance") in sections
    assert ("guide.docx", "Mise en production") in sections
    assert ("page.html", "Monitoring in production") in sections
    assert ("readme.md", "Part") in sections
    pdf = [c for c in chunks if str(c.metadata["source"]).endswith("notes.pdf")]
    assert sorted(c.metadata["page"] for c in pdf) == [1, 2]
    assert len({c.id for c in chunks}) == len(chunks)


def test_same_text_on_two_pdf_pages_gets_two_chunk_ids(tmp_path: Path):
    (tmp_path / "repeat.pdf").write_bytes(make_pdf(["Confidential draft of the ML handbook."] * 2))
    docs, _ = load_sources([tmp_path])
    chunks = chunk_documents(docs)
    assert len(chunks) == 2 and chunks[0].id != chunks[1].id


def test_listed_metadata_wins_over_the_files_own(mixed_folder: Path):
    request = SourceRequest(str(mixed_folder / "plain.txt"), title="Feature stores", lang="fr", topics=("data",))
    docs, _ = load_sources([mixed_folder, request])
    plain = _by_name(docs)["plain.txt"]
    assert len(plain) == 1  # named twice, loaded once
    assert (plain[0].metadata["title"], plain[0].metadata["lang"], plain[0].metadata["topics"]) == ("Feature stores", "fr", ["data"])
    bare, _ = load_sources([mixed_folder / "plain.txt"])
    assert bare[0].metadata["content_hash"] != plain[0].metadata["content_hash"]  # overrides count: they change the embedding


def test_bad_files_of_every_kind_are_skipped_with_one_line_reasons(tmp_path: Path):
    good = make_pdf(["A page about model evaluation and cross-validation."])
    (tmp_path / "ok.md").write_text("# Fine\n\nCross-validation estimates generalisation.\n", "utf-8")
    (tmp_path / "truncated.pdf").write_bytes(good[: len(good) // 2])
    (tmp_path / "fake.pdf").write_bytes(b"this is not a pdf at all")
    (tmp_path / "scanned.pdf").write_bytes(make_pdf([""]))
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "empty.html").write_text("<html><head><script>x()</script></head><body><script>y()</script></body></html>", "utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\x03 raw")
    (tmp_path / "empty.md").write_text("---\ntitle: Nothing\n---\n   \n", "utf-8")
    (tmp_path / "big.md").write_text("# Big\n\n" + "word " * 400, "utf-8")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n", "utf-8")
    (tmp_path / "bad-front-matter.md").write_text("---\ntitle: [unclosed\n---\n# T\n\ntext\n", "utf-8")
    os.symlink(tmp_path / "gone.md", tmp_path / "dangling.md")

    docs, skipped = load_sources([tmp_path, tmp_path / "missing.docx"], SourceLimits(max_bytes=1000))
    assert [Path(str(d.metadata["source"])).name for d in docs] == ["ok.md"]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert "truncated" in reasons["truncated.pdf"]
    assert "not a PDF" in reasons["fake.pdf"]
    assert "no extractable text" in reasons["scanned.pdf"]
    assert "not a readable .docx" in reasons["broken.docx"]
    assert "no main text" in reasons["empty.html"]
    assert "binary" in reasons["binary.txt"]
    assert reasons["empty.md"] == "empty document"
    assert "too large" in reasons["big.md"]
    assert "unsupported file type .csv" in reasons["data.csv"]
    assert "front matter" in reasons["bad-front-matter.md"]
    assert "unreadable" in reasons["dangling.md"]
    assert "no such file" in reasons["missing.docx"]
    assert all("\n" not in r for r in reasons.values())
