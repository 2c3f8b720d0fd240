"""The committed index must match the committed corpus and the default settings."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.embeddings import SPECS
from assistant.index import load_index
from assistant.sources import corpus_hash, load_sources

pytestmark = pytest.mark.integration


def test_committed_index_matches_the_corpus():
    settings = Settings()
    documents, skipped = load_sources([settings.corpus_dir])
    assert skipped == []
    index = load_index(settings.index_dir, SPECS[settings.embedding_model])
    assert index.manifest.corpus_hash == corpus_hash(documents), (
        "index/ is stale: run `mlcareer index build` and commit index/"
    )
    assert set(index.manifest.sources) == {d.metadata["source"] for d in documents}
    assert (index.manifest.chunk_size, index.manifest.chunk_overlap) == (settings.chunk_size, settings.chunk_overlap)
