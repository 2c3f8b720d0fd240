"""The scope guard is calibrated per index, at build, and stored with it (issue: any corpus works)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, build_index
from assistant.config import PROJECT_ROOT, Settings
from assistant.embeddings import SPECS
from assistant.evaluation import ARTICLE_EVAL_SET, DEFAULT_EVAL_SET, load_eval_set
from assistant.index import load_index
from assistant.scope import ScopeModel, calibrate

from .test_headings import _article_text

E5 = SPECS["multilingual-e5-small"]
COOKING = {
    "blanquette.md": "# Blanquette de veau\n\n## Ingrédients\n\nPour six personnes, comptez un kilo et demi de veau, "
    "deux carottes, un oignon piqué de clous de girofle, des champignons de Paris, de la crème et un jaune d'œuf.\n\n"
    "## Cuisson\n\nFaites blanchir la viande, puis laissez-la mijoter une heure et demie dans un bouillon aromatique "
    "avant de lier la sauce à la crème et au jaune d'œuf, hors du feu.\n",
    "sourdough.md": "# Sourdough bread\n\n## Starter\n\nFeed the starter with equal weights of flour and water every "
    "day for a week, until it doubles within a few hours of feeding.\n\n## Baking\n\nBake the loaf in a preheated "
    "Dutch oven at 250 degrees, lid on for twenty minutes, then uncovered until the crust is deep brown.\n",
    "tarte.txt": "Tarte aux pommes\nÉtalez la pâte brisée, garnissez-la de compote puis de fines lamelles de pommes, "
    "et enfournez quarante minutes à 180 degrés jusqu'à ce que les bords soient dorés.\n",
}


def test_calibration_picks_the_middle_of_the_best_plateau():
    # Four questions, one passage; in-scope ones sit at 0.9 and 0.8, off-topic ones at 0.5 and 0.4.
    passage = np.array([[1.0, 0.0]], dtype=np.float32)
    sims = [0.9, 0.8, 0.5, 0.4]
    questions = np.array([[s, np.sqrt(1 - s * s)] for s in sims], dtype=np.float32)
    model = ScopeModel(
        embedding_model="m", training_sha256="x", examples=4, coef=[0.0, 0.0], intercept=0.0,
        labels=[True, True, False, False], held_out_probabilities=[0.9, 0.9, 0.9, 0.9],
    )
    calibration = calibrate(model, questions, passage)
    assert 0.5 < calibration.similarity_threshold <= 0.8
    assert calibration.in_scope_answered == 1.0 and calibration.out_of_scope_declined == 1.0
    assert calibration.similarity_auc == 1.0 and calibration.corpus_matches_training


@pytest.fixture(scope="module")
def plain_article_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("plain")
    index_dir = folder / "index"
    report = build_index(sources=[_article_text(folder)], index_dir=index_dir, progress=False)
    return index_dir, report.summary()


@pytest.mark.integration
def test_an_index_of_the_plain_text_article_answers_and_declines_like_the_shipped_one(plain_article_index):
    index_dir, summary = plain_article_index
    scope = load_index(index_dir, E5).scope
    assert scope.calibration is not None
    assert f"similarity >= {scope.calibration.similarity_threshold:.3f}" in summary
    bot = Assistant(settings=Settings(index_dir=index_dir))
    article = load_eval_set(ARTICLE_EVAL_SET)
    off_topic = load_eval_set(DEFAULT_EVAL_SET / "out_of_scope.jsonl")
    answered = sum(bot.ask(i.question).in_scope for i in article) / len(article)
    declined = sum(not bot.ask(i.question).in_scope for i in off_topic) / len(off_topic)
    assert answered >= 0.95 and declined >= 0.95, (answered, declined)


@pytest.mark.integration
def test_an_explicit_setting_wins_over_the_calibration(plain_article_index):
    index_dir, _ = plain_article_index
    strict = Assistant(settings=Settings(index_dir=index_dir, scope_threshold=0.99))
    assert strict.scope_cuts() == (0.99, 0.6)
    assert not strict.ask("Quelles compétences en programmation faut-il ?").in_scope


@pytest.mark.integration
def test_index_info_shows_the_calibrated_cuts(plain_article_index):
    index_dir, _ = plain_article_index
    run = lambda *args, env=None: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "assistant", "index", "info", "--index-dir", str(index_dir), *args],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, env=env,
    )
    text = run().stdout
    assert re.search(r"scope guard \(calibrated on this index\): similarity >= 0\.\d{3} and P\(in scope\) >= 0\.60", text)
    payload = json.loads(run("--json").stdout)
    assert payload["scope"]["similarity_threshold"] == load_index(index_dir, E5).scope.calibration.similarity_threshold
    import os

    overridden = run(env={**os.environ, "MLCAREER_SCOPE_THRESHOLD": "0.9"}).stdout
    assert "overridden by MLCAREER_SCOPE_THRESHOLD=0.9" in overridden


@pytest.mark.integration
def test_the_calibration_is_recomputed_when_the_corpus_changes(tmp_path: Path, plain_article_index):
    index_dir, _ = plain_article_index
    source = _article_text(tmp_path)
    target = tmp_path / "index"
    build_index(sources=[source], index_dir=target, progress=False)
    (tmp_path / "more.md").write_text(COOKING["blanquette.md"], "utf-8")
    report = build_index(sources=[source, tmp_path / "more.md"], index_dir=target, progress=False)
    index = load_index(target, E5)
    expected = calibrate(index.scope, index.scope_question_vectors, index.vectors)
    assert report.written and report.scope == expected == index.scope.calibration
    # The manifest checksums scope.json like every other file of the index.
    manifest = json.loads((target / "manifest.json").read_text())
    assert {"scope.json", "scope_questions.index"} <= set(manifest["files_sha256"])


@pytest.mark.integration
def test_a_corpus_on_another_subject_says_how_to_turn_the_classifier_off(tmp_path: Path):
    for name, text in COOKING.items():
        (tmp_path / name).write_text(text, "utf-8")
    report = build_index(sources=[tmp_path], index_dir=tmp_path / "index", progress=False)
    summary = report.summary()
    assert report.scope is not None and not report.scope.corpus_matches_training
    assert "warning: this corpus does not look like the subject" in summary
    assert "MLCAREER_SCOPE_PROBABILITY=0" in summary and "MLCAREER_SCOPE_TRAINING_FILE" in summary
    question = "Combien de temps faut-il laisser mijoter la blanquette ?"
    assert not Assistant(settings=Settings(index_dir=tmp_path / "index")).ask(question).in_scope
    assert report.scope.similarity_threshold == 0.0  # nothing to learn a cut from: the summary's advice is enough
    turned_off = Assistant(settings=Settings(index_dir=tmp_path / "index", scope_probability=0.0))
    assert turned_off.ask(question).in_scope
