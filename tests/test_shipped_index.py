"""The committed index must match the committed corpus (and corpus/sources.yaml) and the default settings."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.embeddings import SPECS
from assistant.index import load_index
from assistant.loaders import is_url
from assistant.source_list import default_sources
from assistant.sources import corpus_hash, load_sources

pytestmark = pytest.mark.integration


def test_committed_index_matches_the_corpus():
    settings = Settings()
    requests, bad_entries = default_sources(settings)
    assert bad_entries == [], "corpus/sources.yaml has invalid entries"
    # URLs cannot be fetched offline: their content is checked at build time, their presence here.
    urls = {r.location for r in requests if is_url(r.location)}
    documents, skipped = load_sources([r for r in requests if not is_url(r.location)])
    assert skipped == []
    index = load_index(settings.index_dir, SPECS[settings.embedding_model])
    stale = "index/ is stale: run `mlcareer index build` and commit index/"
    local = {s: e.content_hash for s, e in index.manifest.sources.items() if s not in urls}
    assert local == {d.metadata["source"]: d.metadata["content_hash"] for d in documents}, stale
    assert urls <= set(index.manifest.sources), stale
    if not urls:
        assert index.manifest.corpus_hash == corpus_hash(documents), stale
    assert (index.manifest.chunk_size, index.manifest.chunk_overlap) == (settings.chunk_size, settings.chunk_overlap)
