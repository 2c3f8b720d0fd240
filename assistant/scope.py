"""The scope guard: is a question about the ML-engineer career at all, and close to this index?

Similarity to the best passage alone cannot tell "skills of an ML engineer" from "skills of a
civil engineer": E5's cosines are compressed, and near-misses share the corpus's words. A
logistic regression on the question's embedding, trained on labelled questions
(`assistant/data/scope_training.jsonl`: in-scope questions and off-topic ones, many of them
near-misses), is the second signal. It is trained at index build time, with the index's own
embedding model, and stored in the index as JSON weights (no pickle).

Both cuts are calibrated per index (`calibrate`): a fixed cosine cut cannot travel between
indexes (a corpus of short curated passages sits closer to questions than one long article), so
at every build the training questions are scored against the new index's passages and the
(similarity, probability) pair that best separates them is stored with the index. The
classifier's probabilities used for this are out-of-fold (cross-validated), so the cut is not
fitted on the classifier's own training answers.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from .embeddings import PackagedEmbeddings
from .errors import IndexBuildError

log = logging.getLogger(__name__)

SCOPE_FILE = "scope.json"
DEFAULT_TRAINING_FILE = Path(__file__).parent / "data" / "scope_training.jsonl"
# Inverse regularisation strength, chosen on the evaluation set (eval/DECISIONS.md).
REGULARISATION_C = 30.0
FOLDS = 5
# Below this, passage similarity ranks off-topic training questions as high as on-topic ones.
MIN_MATCHING_AUC = 0.6
# The classifier's cut, chosen on the evaluation set (eval/DECISIONS.md); the same on every index.
PROBABILITY_CUT = 0.6


class ScopeExample(BaseModel):
    text: str
    lang: str
    in_scope: bool


class ScopeCalibration(BaseModel):
    """The cuts chosen for one index, and how well they separate the training questions on it."""

    similarity_threshold: float = Field(description="Minimum cosine of the best passage.")
    probability_threshold: float = Field(description="Minimum P(in scope) from the classifier.")
    in_scope_answered: float = Field(description="Training in-scope questions kept (out-of-fold probabilities).")
    out_of_scope_declined: float = Field(description="Training out-of-scope questions declined.")
    similarity_auc: float = Field(
        description="How well passage similarity alone ranks in-scope above out-of-scope training questions "
        "on this index (0.5: no better than chance; below it, the corpus is about something else)."
    )

    @property
    def corpus_matches_training(self) -> bool:
        """False when the index is about another subject than the training questions (a cooking blog)."""
        return self.similarity_auc >= MIN_MATCHING_AUC

    def describe(self) -> str:
        similarity = (
            f"similarity >= {self.similarity_threshold:.3f}"
            if self.corpus_matches_training
            else "similarity not used (the corpus is unlike the training questions)"
        )
        return (
            f"{similarity} and P(in scope) >= {self.probability_threshold:.2f} "
            f"(training questions on this index: {self.in_scope_answered:.1%} in-scope answered, "
            f"{self.out_of_scope_declined:.1%} out-of-scope declined; similarity AUC {self.similarity_auc:.2f})"
        )


class ScopeModel(BaseModel):
    """Weights of the logistic regression over normalised query embeddings, and this index's cuts."""

    embedding_model: str
    training_sha256: str
    examples: int
    coef: list[float]
    intercept: float
    # Per training question, in file order: its label and its out-of-fold P(in scope), kept so a
    # rebuild of the corpus recalibrates without retraining (the question vectors are in the index).
    labels: list[bool] = Field(default_factory=list)
    held_out_probabilities: list[float] = Field(default_factory=list)
    calibration: ScopeCalibration | None = None

    @cached_property
    def _weights(self) -> np.ndarray:
        # Converted once: probability() runs on every question.
        return np.asarray(self.coef, dtype=np.float32)

    def probability(self, query_vector: np.ndarray) -> float:
        """P(in scope) for one query embedding."""
        z = float(np.dot(self._weights, query_vector)) + self.intercept
        return float(1.0 / (1.0 + np.exp(-z)))


# A follow-up often names no ML word ("what daily rate should I charge in Germany?"), so the
# classifier reads it alone as off-topic; read with the previous question in front, it is dominated
# by that question ("tell me a joke" passes). Its nearest training questions tell better whether it
# stays on the subject: on 131 dev follow-ups this margin ranked the on-topic ones above the ones
# that leave with AUC 0.95, against 0.92 for the classifier on the follow-up alone. One the
# condensing rule reads as a follow-up ("donne-moi des livres") needs less of it than one it does
# not (eval/DECISIONS.md, "Follow-ups judged in their conversation").
NEIGHBOURS = 5
FOLLOW_UP_MARGIN = -0.0075
UNMARKED_FOLLOW_UP_MARGIN = 0.01


def neighbour_margin(query_vector: np.ndarray, question_vectors: np.ndarray, labels: np.ndarray, k: int = NEIGHBOURS) -> float:
    """Mean cosine of the k closest in-scope training questions minus that of the k closest off-topic ones."""
    if not labels.any() or labels.all():
        return 0.0
    cosines = question_vectors @ query_vector
    closest = lambda scores: float(np.sort(scores)[-k:].mean())  # noqa: E731
    return closest(cosines[labels]) - closest(cosines[~labels])


def training_digest(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise IndexBuildError(f"cannot read the scope training file {path} (MLCAREER_SCOPE_TRAINING_FILE): {exc}") from exc


def load_examples(path: Path) -> list[ScopeExample]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise IndexBuildError(f"cannot read the scope training file {path}: {exc}") from exc
    examples = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                examples.append(ScopeExample.model_validate_json(line))
            except ValidationError as exc:
                raise IndexBuildError(f"{path}:{number}: not a scope example ({exc.error_count()} errors)") from exc
    if len({e.in_scope for e in examples}) < 2:
        raise IndexBuildError(f"{path} needs both in-scope and out-of-scope examples to train the scope classifier")
    return examples


def embed_examples(
    embeddings: PackagedEmbeddings, examples: list[ScopeExample], progress: bool = True, batch: int = 32
) -> np.ndarray:
    """The examples embedded as queries, as users' questions will be."""
    from tqdm import tqdm

    texts = [e.text for e in examples]
    parts = []
    with tqdm(total=len(texts), desc="embedding scope questions", unit="q", disable=not progress) as bar:
        for start in range(0, len(texts), batch):
            parts.append(embeddings.embed_queries(texts[start : start + batch]))
            bar.update(len(parts[-1]))
    return np.concatenate(parts).astype(np.float32)


def train(
    embeddings: PackagedEmbeddings, path: Path, progress: bool = True, c: float = REGULARISATION_C
) -> tuple[ScopeModel, np.ndarray]:
    """Fit the classifier on the file's examples; returns it with the examples' query vectors."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    examples = load_examples(path)
    vectors = embed_examples(embeddings, examples, progress)
    labels = np.array([e.in_scope for e in examples])

    def classifier() -> LogisticRegression:
        # Balanced classes: the file has more off-topic examples than on-topic ones.
        return LogisticRegression(C=c, class_weight="balanced", max_iter=5000)

    fitted = classifier().fit(vectors, labels)
    folds = StratifiedKFold(n_splits=min(FOLDS, int(labels.sum()), int((~labels).sum())), shuffle=True, random_state=0)
    held_out = cross_val_predict(classifier(), vectors, labels, cv=folds, method="predict_proba")[:, 1]
    log.info(
        "scope classifier trained on %d examples (training accuracy %.3f, out-of-fold %.3f)",
        len(examples), fitted.score(vectors, labels), float(np.mean((held_out >= 0.5) == labels)),
    )
    model = ScopeModel(
        embedding_model=embeddings.spec.id,
        training_sha256=training_digest(path),
        examples=len(examples),
        coef=[float(w) for w in fitted.coef_[0]],
        intercept=float(fitted.intercept_[0]),
        labels=[bool(x) for x in labels],
        held_out_probabilities=[round(float(p), 5) for p in held_out],
    )
    return model, vectors


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a random in-scope score > a random out-of-scope one), ties counting half."""
    if not len(positive) or not len(negative):
        return 0.5
    greater = (positive[:, None] > negative[None, :]).mean()
    ties = (positive[:, None] == negative[None, :]).mean()
    return float(greater + 0.5 * ties)


def calibrate(
    model: ScopeModel, question_vectors: np.ndarray, passage_vectors: np.ndarray, probability_cut: float = PROBABILITY_CUT
) -> ScopeCalibration:
    """The similarity cut that best separates the training questions on this index.

    Each training question gets the cosine of its best passage in the index and its out-of-fold
    P(in scope); the similarity cut maximising the balanced accuracy of the whole guard
    (similarity >= cut and P >= `probability_cut`) wins, the middle of the best plateau when
    several tie. The probability cut belongs to the classifier, not to the index: it was
    chosen once on the evaluation set (eval/DECISIONS.md), and calibrating it on the training
    questions' own probabilities let near-misses through.
    """
    labels = np.array(model.labels, dtype=bool)
    probabilities = np.array(model.held_out_probabilities, dtype=np.float64)
    if len(labels) != len(question_vectors) or not len(passage_vectors) or labels.all() or not labels.any():
        raise IndexBuildError("cannot calibrate the scope guard: no passages, or the training questions do not match their vectors")
    best = (question_vectors @ passage_vectors.T).max(axis=1).astype(np.float64)
    cuts = np.unique(np.round(np.quantile(best, np.linspace(0.0, 0.99, 199)), 4))
    passes = probabilities >= probability_cut

    def outcome(cut: float) -> tuple[float, float]:
        accept = passes & (best >= cut)
        return float(accept[labels].mean()), float((~accept[~labels]).mean())

    auc = _auc(best[labels], best[~labels])
    if auc < MIN_MATCHING_AUC:
        # The corpus is about something else: similarity to it says nothing about these questions,
        # so no cut can be learnt from them. The classifier declines (the build says how to turn it off).
        cut = 0.0
    else:
        scores = np.array([round(sum(outcome(c)) / 2, 6) for c in cuts])
        tied = cuts[scores == scores.max()]
        cut = round(float((tied.min() + tied.max()) / 2), 4)
    answered, declined = outcome(cut)
    calibration = ScopeCalibration(
        similarity_threshold=cut,
        probability_threshold=probability_cut,
        in_scope_answered=round(answered, 4),
        out_of_scope_declined=round(declined, 4),
        similarity_auc=round(auc, 4),
    )
    log.info("scope guard calibrated on this index: %s", calibration.describe())
    return calibration


def read_scope_model(path: Path) -> ScopeModel:
    return ScopeModel.model_validate_json(path.read_bytes())
