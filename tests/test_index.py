"""The index on disk: format, model checks, damage detection, atomic and incremental rebuilds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant import build_index
from assistant.config import Settings
from assistant.embeddings import SPECS
from assistant.errors import IndexBuildError, IndexCorruptError, IndexMismatchError, IndexNotFoundError
from assistant.index import load_index, read_manifest, recover_interrupted_swap

from .conftest import ARTICLE

E5 = SPECS["multilingual-e5-small"]
pytestmark = pytest.mark.integration


def test_index_files_follow_the_documented_format(article_index: Path):
    assert {p.name for p in article_index.iterdir()} == {"faiss.index", "headings.index", "scope.json", "scope_questions.index", "units.index", "chunks.jsonl", "manifest.json"}
    manifest = json.loads((article_index / "manifest.json").read_text())
    assert manifest["embedding_model"] == "multilingual-e5-small"
    assert manifest["dimension"] == 384 and manifest["normalized"] is True
    assert manifest["query_prefix"] == "query: " and manifest["passage_prefix"] == "passage: "
    records = [json.loads(line) for line in (article_index / "chunks.jsonl").read_text().splitlines()]
    assert len(records) == manifest["chunk_count"] == 11
    meta = records[1]["metadata"]
    assert {"source", "title", "section", "lang", "content_hash"} <= set(meta)
    assert meta["section"] == "Compréhension des Fondamentaux > Mathématiques et Statistiques"
    assert meta["source"] == "corpus/article/competences-ingenieur-machine-learning.fr.md"


def test_index_built_with_another_model_is_refused_with_the_fix(article_index: Path):
    with pytest.raises(IndexMismatchError) as info:
        load_index(article_index, SPECS["all-minilm-l6-v2"])
    message = str(info.value)
    assert "multilingual-e5-small" in message and "all-minilm-l6-v2" in message
    assert "mlcareer index build --full" in message


def test_damaged_index_is_detected(tmp_path: Path, article_index: Path):
    broken = tmp_path / "index"
    shutil.copytree(article_index, broken)
    with (broken / "faiss.index").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"garbage!")
    with pytest.raises(IndexCorruptError, match="mlcareer index build"):
        load_index(broken, E5)
    (broken / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match="mlcareer index build"):
        load_index(broken, E5)


def test_missing_index_names_the_build_command(tmp_path: Path):
    with pytest.raises(IndexNotFoundError, match="mlcareer index build"):
        load_index(tmp_path / "nowhere", E5)


def test_rebuild_is_incremental_and_reports_changes(tmp_path: Path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ARTICLE, corpus / "article")
    (corpus / "notes.md").write_text("# Notes\n\n## Git\n\nVersion control matters for ML code.\n", "utf-8")
    index_dir = tmp_path / "index"
    settings = Settings(index_dir=index_dir, corpus_dir=corpus)
    first = build_index(settings=settings, progress=False)
    assert len(first.added) == 2 and first.embedded_chunks == first.chunks

    again = build_index(settings=settings, progress=False)
    assert again.embedded_chunks == 0 and len(again.unchanged) == 2

    (corpus / "notes.md").write_text("# Notes\n\n## Git\n\nVersion control and code review matter.\n", "utf-8")
    (corpus / "extra.md").write_text("# Extra\n\nDocker images make deployments reproducible.\n", "utf-8")
    changed = build_index(settings=settings, progress=False)
    assert [Path(p).name for p in changed.updated] == ["notes.md"]
    assert len(changed.added) == 1 and changed.embedded_chunks == 2

    (corpus / "extra.md").unlink()
    removed = build_index(settings=settings, progress=False)
    assert len(removed.removed) == 1 and removed.embedded_chunks == 0
    assert read_manifest(index_dir).chunk_count == removed.chunks

    full = build_index(settings=settings, full=True, progress=False)
    assert full.embedded_chunks == full.chunks


def test_nothing_to_index_fails_and_keeps_the_old_index(tmp_path: Path, article_index: Path):
    index_dir = tmp_path / "index"
    shutil.copytree(article_index, index_dir)
    before = (index_dir / "manifest.json").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(IndexBuildError, match="nothing could be indexed"):
        build_index(sources=[empty], index_dir=index_dir, progress=False)
    assert (index_dir / "manifest.json").read_bytes() == before


def test_interrupted_swap_is_recovered(tmp_path: Path, article_index: Path):
    index_dir = tmp_path / "index"
    # State after a crash between the two renames: the old index stepped aside, no new one yet.
    shutil.copytree(article_index, tmp_path / "index.previous")
    recover_interrupted_swap(index_dir)
    assert load_index(index_dir, E5).manifest.chunk_count == 11
