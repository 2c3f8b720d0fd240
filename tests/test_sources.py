from pathlib import Path

import pytest

from assistant.errors import SourceError
from assistant.sources import corpus_hash, load_sources, load_text_file, split_front_matter


def test_front_matter_is_parsed_safely(tmp_path: Path):
    meta, body = split_front_matter("---\ntitle: T\nlang: fr\n---\n# T\n\nTexte.\n")
    assert meta == {"title": "T", "lang": "fr"}
    assert body.startswith("# T")
    with pytest.raises(SourceError):
        split_front_matter("---\n!!python/object/apply:os.system ['echo hi']\n---\nx")


def test_markdown_document_metadata(tmp_path: Path):
    path = tmp_path / "doc.md"
    path.write_text("---\ntitle: Mon titre\nlang: fr\ntopics: [maths]\nsources:\n  - https://example.org/\n---\n# Mon titre\n\nDu texte.\n", "utf-8")
    doc = load_text_file(path)
    assert doc.metadata["title"] == "Mon titre"
    assert doc.metadata["lang"] == "fr"
    assert doc.metadata["links"] == ["https://example.org/"]
    assert len(doc.metadata["content_hash"]) == 64


def test_language_is_detected_when_not_given(tmp_path: Path):
    path = tmp_path / "doc.md"
    path.write_text("# Notes\n\nLes ingénieurs doivent savoir nettoyer les données avant l'entraînement.\n", "utf-8")
    assert load_text_file(path).metadata["lang"] == "fr"


def test_bad_files_are_skipped_with_a_reason(tmp_path: Path):
    (tmp_path / "good.md").write_text("# Good\n\nSome useful text about machine learning.\n", "utf-8")
    (tmp_path / "empty.md").write_text("   \n", "utf-8")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02 not text")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    docs, skipped = load_sources([tmp_path, tmp_path / "missing.md"])
    assert [Path(d.metadata["source"]).name for d in docs] == ["good.md"]
    reasons = {Path(s.source).name: s.reason for s in skipped}
    assert reasons["empty.md"] == "empty document"
    assert "binary" in reasons["binary.md"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "unsupported" in reasons["image.png"]
    assert "no such file" in reasons["missing.md"]


def test_corpus_hash_changes_with_content(tmp_path: Path):
    path = tmp_path / "a.md"
    path.write_text("# A\n\none\n", "utf-8")
    before = corpus_hash(load_sources([tmp_path])[0])
    path.write_text("# A\n\ntwo\n", "utf-8")
    assert corpus_hash(load_sources([tmp_path])[0]) != before
