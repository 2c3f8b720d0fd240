"""The scope classifier: is a question about the ML-engineer career at all?

Similarity to the best passage alone cannot tell "skills of an ML engineer" from "skills of a
civil engineer": E5's cosines are compressed, and near-misses share the corpus's words. A
logistic regression on the question's embedding, trained on labelled questions
(`assistant/data/scope_training.jsonl`: in-scope questions and off-topic ones, many of them
near-misses), is the second signal. It is trained at index build time, with the index's own
embedding model, and stored in the index as JSON weights (no pickle).
"""

from __future__ import annotations

import hashlib
import logging
from functools import cached_property
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ValidationError

from .embeddings import PackagedEmbeddings
from .errors import IndexBuildError

log = logging.getLogger(__name__)

SCOPE_FILE = "scope.json"
DEFAULT_TRAINING_FILE = Path(__file__).parent / "data" / "scope_training.jsonl"
# Inverse regularisation strength, chosen on the evaluation set (eval/DECISIONS.md).
REGULARISATION_C = 30.0


class ScopeExample(BaseModel):
    text: str
    lang: str
    in_scope: bool


class ScopeModel(BaseModel):
    """Weights of the logistic regression over normalised query embeddings."""

    embedding_model: str
    training_sha256: str
    examples: int
    coef: list[float]
    intercept: float

    @cached_property
    def _weights(self) -> np.ndarray:
        # Converted once: probability() runs on every question.
        return np.asarray(self.coef, dtype=np.float32)

    def probability(self, query_vector: np.ndarray) -> float:
        """P(in scope) for one query embedding."""
        z = float(np.dot(self._weights, query_vector)) + self.intercept
        return float(1.0 / (1.0 + np.exp(-z)))


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


def train(embeddings: PackagedEmbeddings, path: Path, progress: bool = True, c: float = REGULARISATION_C) -> ScopeModel:
    """Embed the examples as queries (as users' questions will be) and fit the classifier."""
    from sklearn.linear_model import LogisticRegression
    from tqdm import tqdm

    examples = load_examples(path)
    vectors = np.stack(
        [embeddings.embed_query_vector(e.text) for e in tqdm(examples, desc="training scope classifier", unit="q", disable=not progress)]
    )
    labels = np.array([e.in_scope for e in examples])
    # Balanced classes: the file has more off-topic examples than on-topic ones.
    fitted = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(vectors, labels)
    accuracy = fitted.score(vectors, labels)
    log.info("scope classifier trained on %d examples (training accuracy %.3f)", len(examples), accuracy)
    return ScopeModel(
        embedding_model=embeddings.spec.id,
        training_sha256=training_digest(path),
        examples=len(examples),
        coef=[float(c) for c in fitted.coef_[0]],
        intercept=float(fitted.intercept_[0]),
    )


def read_scope_model(path: Path) -> ScopeModel:
    return ScopeModel.model_validate_json(path.read_bytes())
