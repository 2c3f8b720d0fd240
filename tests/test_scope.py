"""The scope classifier: trained at build time, stored as JSON, second signal of the scope guard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, build_index
from assistant.config import Settings
from assistant.embeddings import SPECS
from assistant.errors import IndexBuildError, IndexCorruptError
from assistant.evaluation import DEFAULT_EVAL_SET, HELDOUT_EVAL_SET, load_eval_set, run_eval
from assistant.index import load_index
from assistant.scope import DEFAULT_TRAINING_FILE, ScopeModel, load_examples, neighbour_margin

from .conftest import ARTICLE

E5 = SPECS["multilingual-e5-small"]


def test_probability_is_the_logistic_of_the_weights():
    model = ScopeModel(embedding_model="m", training_sha256="x", examples=2, coef=[2.0, 0.0], intercept=-1.0)
    assert model.probability(np.array([0.5, 0.9], dtype=np.float32)) == pytest.approx(0.5)
    assert model.probability(np.array([1.0, 0.0], dtype=np.float32)) == pytest.approx(1 / (1 + np.exp(-1)))


def test_neighbour_margin_compares_the_closest_questions_of_each_kind():
    questions = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]], dtype=np.float32)
    labels = np.array([True, True, False, False])
    near_in_scope = np.array([1.0, 0.0], dtype=np.float32)
    assert neighbour_margin(near_in_scope, questions, labels, k=1) == pytest.approx(1.0 - 0.6)
    assert neighbour_margin(near_in_scope, questions, labels, k=2) == pytest.approx(0.9 - 0.3)
    assert neighbour_margin(np.array([0.0, 1.0], dtype=np.float32), questions, labels, k=1) < 0
    assert neighbour_margin(near_in_scope, questions, np.array([True] * 4)) == 0.0  # one class only: no signal


def test_training_file_has_both_classes_and_both_languages():
    examples = load_examples(DEFAULT_TRAINING_FILE)
    assert {(e.lang, e.in_scope) for e in examples} == {("fr", True), ("fr", False), ("en", True), ("en", False)}
    assert len({e.text.lower() for e in examples}) == len(examples)
    # It must stay unseen data for the evaluation: no evaluation question is trained on.
    questions = {i.question.lower() for s in (DEFAULT_EVAL_SET, HELDOUT_EVAL_SET) for i in load_eval_set(s)}
    assert not questions & {e.text.lower() for e in examples}


def test_bad_training_file_fails_the_build_and_keeps_the_index(tmp_path: Path, article_index: Path):
    index_dir = tmp_path / "index"
    shutil.copytree(article_index, index_dir)
    before = (index_dir / "manifest.json").read_bytes()
    bad = tmp_path / "scope.jsonl"
    bad.write_text('{"text": "only one class", "lang": "en", "in_scope": true}\n', "utf-8")
    settings = Settings(index_dir=index_dir, scope_training_file=bad)
    with pytest.raises(IndexBuildError, match="both in-scope and out-of-scope"):
        build_index(sources=[ARTICLE], settings=settings, progress=False)
    with pytest.raises(IndexBuildError, match="cannot read the scope training file"):
        build_index(sources=[ARTICLE], settings=Settings(index_dir=index_dir, scope_training_file=tmp_path / "missing"), progress=False)
    assert (index_dir / "manifest.json").read_bytes() == before


@pytest.mark.integration
def test_a_new_training_file_retrains_without_re_embedding(tmp_path: Path, article_index: Path):
    index_dir = tmp_path / "index"
    shutil.copytree(article_index, index_dir)
    smaller = tmp_path / "scope.jsonl"
    smaller.write_text("\n".join(DEFAULT_TRAINING_FILE.read_text("utf-8").splitlines()[::2]) + "\n", "utf-8")
    report = build_index(sources=[ARTICLE], settings=Settings(index_dir=index_dir, scope_training_file=smaller), progress=False)
    assert report.written and report.embedded_chunks == 0
    assert load_index(index_dir, E5).scope.examples == len(load_examples(smaller))


@pytest.mark.integration
def test_damaged_classifier_is_detected(tmp_path: Path, article_index: Path):
    index_dir = tmp_path / "index"
    shutil.copytree(article_index, index_dir)
    data = json.loads((index_dir / "scope.json").read_text())
    data["coef"] = data["coef"][:10]
    (index_dir / "scope.json").write_text(json.dumps(data))
    with pytest.raises(IndexCorruptError, match="mlcareer index build"):
        load_index(index_dir, E5)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("question", "in_scope"),
    [
        ("What skills do I need to become a civil engineer?", False),
        ("Quelles compétences faut-il pour devenir infirmier ?", False),
        ("Comment fonctionnent les neurones du cerveau humain ?", False),
        ("What skills do I need to become a machine learning engineer?", True),
        ("Quelles compétences faut-il pour devenir ingénieur en machine learning ?", True),
        ("Comment gérer un désaccord technique avec un collègue de l'équipe data ?", True),
    ],
)
def test_near_misses_are_declined_and_career_questions_answered(shipped_assistant: Assistant, question: str, in_scope: bool):
    assert shipped_assistant.ask(question).in_scope is in_scope


@pytest.mark.integration
@pytest.mark.parametrize(
    ("previous", "follow_up", "in_scope"),
    [
        # From the dev follow-ups (eval/answers/followups.jsonl): read alone, the classifier declined these two...
        ("I'm freelancing as an ML consultant in France. What daily rate is normal?", "what daily rate should I charge in Germany?", True),
        ("How do I become a machine learning engineer with no CS degree?", "what if I'm only 19 and still in community college?", True),
        # ...and read with the previous question in front, it let these through.
        ("What skills do I need to become an ML engineer?", "tell me a joke", False),
        ("How much does an ML engineer earn in Canada?", "and what does a nurse earn in Canada?", False),
        ("Comment devenir ML engineer après un bac+3 ?", "et pour devenir boulanger ?", False),
    ],
)
def test_follow_ups_are_judged_in_their_conversation(shipped_assistant: Assistant, previous: str, follow_up: str, in_scope: bool):
    first = shipped_assistant.ask(previous)
    assert first.in_scope
    answer = shipped_assistant.ask(follow_up, history=[("user", previous), ("assistant", first.text)])
    assert answer.in_scope is in_scope, answer.status


@pytest.mark.integration
def test_scope_figures_on_the_evaluation_sets(shipped_assistant: Assistant):
    # Gates a little below the measured figures (eval/DECISIONS.md); the held-out set was never tuned on.
    items = [i for i in load_eval_set(DEFAULT_EVAL_SET) if i.kind != "injection"]
    report = run_eval(shipped_assistant, items, progress=False)
    assert report.in_scope_answered >= 0.97 and report.out_of_scope_declined >= 0.95
    held = run_eval(shipped_assistant, [i for i in load_eval_set(HELDOUT_EVAL_SET) if i.kind != "injection"], progress=False)
    assert held.in_scope_answered >= 0.90 and held.out_of_scope_declined >= 0.90


@pytest.mark.integration
def test_classifier_can_be_turned_off_for_another_corpus(article_index: Path):
    question = "What skills do I need to become a civil engineer?"
    off = Assistant(settings=Settings(index_dir=article_index, scope_threshold=0.0, scope_probability=0.0))
    on = Assistant(settings=Settings(index_dir=article_index, scope_threshold=0.0))
    assert off.ask(question).in_scope and not on.ask(question).in_scope
