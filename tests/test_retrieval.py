"""Search quality on the real model and a real index of the article."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.evaluation import ARTICLE_EVAL_SET, DEFAULT_EVAL_SET, HELDOUT_EVAL_SET, load_eval_set, run_eval

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("query", "section"),
    [
        ("Quelles notions de probabilités et d'algèbre linéaire faut-il ?", "Mathématiques et Statistiques"),
        ("Which programming languages and libraries should I master?", "Programmation"),
        ("How do I put a model into production and monitor it?", "Déploiement et Mise en Production"),
        ("Comment rester à jour face aux nouvelles techniques ?", "Apprentissage Continu"),
        ("Is cleaning and normalising data part of the job?", "Traitement des Données"),
    ],
)
def test_known_questions_find_their_section(article_assistant: Assistant, query: str, section: str):
    results = article_assistant.search(query, k=3)
    assert section in [r.section.split(" > ")[-1] for r in results]
    assert results[0].score >= results[-1].score - 0.05


def test_retrieval_quality_on_the_article_eval_set(article_assistant: Assistant):
    items = load_eval_set(ARTICLE_EVAL_SET)
    report = run_eval(article_assistant, items, progress=False)
    # Regression gates below the measured figures (eval/DECISIONS.md), not the aspirations.
    assert report.hit_at_3 >= 0.88
    assert report.hit_at_1 >= 0.70
    assert report.language_match == 1.0


def test_hybrid_retriever_is_a_langchain_retriever(article_assistant: Assistant):
    docs = article_assistant.retriever(k=2).invoke("travail en équipe et collaboration")
    assert len(docs) == 2
    assert docs[0].metadata["section"].endswith("Travail d’Équipe")
    assert 0 < docs[0].metadata["score"] <= 1


def test_retrieval_quality_on_the_full_corpus(shipped_assistant: Assistant):
    items = [i for i in load_eval_set(DEFAULT_EVAL_SET) if i.kind == "in_scope"]
    report = run_eval(shipped_assistant, items, progress=False)
    # Gates a little below the measured figures (eval/DECISIONS.md): a fusion regression fails here.
    # 81 documents: 0.833 / 0.729 (tuning), 0.812 / 0.680 (held-out) without the listed questions,
    # 0.935 / 0.850 and 0.906 / 0.820 with them; 83 documents, 4 questions a section: 0.944 / 0.849
    # and 0.891 / 0.805; 86 more sections, which compete for the first rank (and the labels of the
    # questions they answer as well, eval/DECISIONS.md): 0.935 / 0.838 and 0.883 / 0.760; 28 more and
    # one widened passage per section: 0.944 / 0.849 and 0.898 / 0.769; 23 more (round 5):
    # 0.940 / 0.846 and 0.898 / 0.753.
    assert report.hit_at_5 >= 0.91
    assert report.mrr >= 0.82
    held_out = run_eval(shipped_assistant, [i for i in load_eval_set(HELDOUT_EVAL_SET) if i.kind == "in_scope"], progress=False)
    assert held_out.hit_at_5 >= 0.87
    assert held_out.mrr >= 0.73


def test_headings_lift_the_section_that_names_the_question(shipped_assistant: Assistant):
    # "Overfitting, underfitting and regularisation" answers this without sharing its words.
    hits = shipped_assistant.search("My model is great on the training data but bad on new data, what can I do?", k=3)
    assert any("Overfitting" in h.section for h in hits)


def test_overlapping_chunks_join_without_repeating_the_overlap():
    from assistant.retrieval import _join_overlapping

    assert _join_overlapping("Learn Python first. Then learn SQL.", "Then learn SQL. Then statistics.") == (
        "Learn Python first. Then learn SQL. Then statistics."
    )
    assert _join_overlapping("One text.", "Another text.") == "One text.\n\nAnother text."


def test_a_passage_brings_the_rest_of_its_section(tmp_path):
    from assistant import build_index
    from assistant.config import Settings

    doc = tmp_path / "plan.md"
    steps = " ".join(f"Step {n}: practise topic number {n} of the machine learning plan every week." for n in range(1, 25))
    doc.write_text(
        f"# A learning plan\n\n## The plan step by step\n\n{steps}\n\n## Books\n\nRead one statistics book and one Python book.\n",
        "utf-8",
    )
    wide = Settings(index_dir=tmp_path / "index", scope_threshold=0.0, chunk_size=400, chunk_overlap=60)
    build_index(sources=[doc], settings=wide, progress=False)
    found = Assistant(settings=wide).search("What is step 2 of the machine learning plan?", k=3)
    plan = [s for s in found if s.section == "The plan step by step"]
    assert len(plan) == 1  # one passage per section
    assert len(plan[0].chunk_ids) > 1 and "Step 2:" in plan[0].text and "Step 6:" in plan[0].text
    assert len(plan[0].text) <= wide.passage_chars
    assert plan[0].text.count("Step 3:") == 1  # the chunks' overlap is not repeated
    narrow = Assistant(settings=wide.model_copy(update={"passage_chars": 0})).search("What is step 2 of the machine learning plan?", k=3)
    assert all(not s.chunk_ids for s in narrow) and sum(s.section == "The plan step by step" for s in narrow) > 1
    answer = Assistant(settings=wide).ask("What is step 2 of the machine learning plan?")
    assert "[1]" in answer.text and answer.sources[0].section == "The plan step by step"


def test_a_window_deep_in_a_long_section_keeps_the_sections_opening(tmp_path):
    from assistant import build_index
    from assistant.config import Settings
    from assistant.retrieval import ELLIPSIS

    doc = tmp_path / "plan.md"
    steps = " ".join(f"Step {n}: practise topic number {n} of the machine learning plan every week." for n in range(1, 61))
    opening = "The machine learning plan takes a year of weekly practice and starts with Python."
    doc.write_text(f"# A learning plan\n\n## The plan step by step\n\n{opening} {steps}\n", "utf-8")
    settings = Settings(index_dir=tmp_path / "index", scope_threshold=0.0, chunk_size=400, chunk_overlap=60, passage_chars=900)
    build_index(sources=[doc], settings=settings, progress=False)
    found = Assistant(settings=settings).search("What is step 48 of the machine learning plan?", k=3)
    plan = [s for s in found if s.section == "The plan step by step"]
    assert len(plan) == 1 and "Step 48:" in plan[0].text
    assert plan[0].text.startswith(opening) and ELLIPSIS in plan[0].text
    assert "Step 20:" not in plan[0].text  # what lies between is left out, not the whole section
    assert plan[0].chunk_ids[0] == Assistant(settings=settings).search(opening, k=1)[0].chunk_ids[0]


def test_queries_read_together_lean_towards_the_heavier_one(article_assistant: Assistant):
    searcher = article_assistant._searcher
    libraries, deployment = "Quelles bibliothèques Python pour le deep learning ?", "Comment déployer un modèle en production ?"
    alone = {q: searcher.search(q, 1)[0].chunk.id for q in (libraries, deployment)}
    assert alone[libraries] != alone[deployment]
    assert searcher.search([libraries, deployment], 1, weights=[1.0, 0.01])[0].chunk.id == alone[libraries]
    assert searcher.search([libraries, deployment], 1, weights=[0.01, 1.0])[0].chunk.id == alone[deployment]
    for wrong in ([1.0], [1.0, 0.0]):
        with pytest.raises(ValueError, match="positive weight"):
            searcher.search([libraries, deployment], 1, weights=wrong)
