"""Every packaged embedding model loads offline and embeds; the choice is a setting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, build_index
from assistant.config import Settings
from assistant.embeddings import EMBEDDING_MODELS, load_embeddings

from .conftest import ARTICLE

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("model_id", sorted(EMBEDDING_MODELS))
def test_model_embeds_normalised_vectors_of_its_dimension(model_id: str):
    model = load_embeddings(model_id)
    vectors = model.embed_passages(["Les ingénieurs doivent maîtriser Python.", "Cooking pasta takes ten minutes."])
    assert vectors.shape == (2, model.spec.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = model.embed_query_vector("Which programming language should ML engineers master?")
    assert vectors[0] @ query > vectors[1] @ query
    assert len(model.embed_query("x")) == model.spec.dimension


def test_sentence_transformers_model_is_selectable_end_to_end(tmp_path: Path):
    settings = Settings(index_dir=tmp_path / "index", embedding_model="all-minilm-l6-v2", scope_threshold=0.0)
    build_index(sources=[ARTICLE], settings=settings, progress=False)
    bot = Assistant(settings=settings)
    assert bot.manifest.embedding_model == "all-minilm-l6-v2"
    results = bot.search("Mathématiques et statistiques : probabilités, algèbre linéaire", k=3)
    assert "Mathématiques et Statistiques" in [r.section.split(" > ")[-1] for r in results]


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="choose one of"):
        load_embeddings("no-such-model")


def test_questions_asked_at_once_get_the_vectors_they_would_get_alone():
    """Concurrent questions are encoded in shared batches: each must still get its own vector."""
    import threading

    model = load_embeddings("multilingual-e5-small")
    questions = [f"Question {i} : comment devenir ingénieur ML en partant du métier n°{i} ?" for i in range(12)]
    alone = {q: model.embed_query_vector(q) for q in questions}
    model.clear_query_cache()
    together: dict[str, np.ndarray] = {}
    start = threading.Barrier(len(questions))

    def ask(q: str) -> None:
        start.wait()
        together[q] = model.embed_query_vector(q)

    threads = [threading.Thread(target=ask, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for q in questions:
        assert np.allclose(together[q], alone[q], atol=1e-5), q
