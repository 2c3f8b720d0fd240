"""Question language detection (French or English) with the lingua statistical detector."""

from __future__ import annotations

import re
import threading
from typing import Literal

from lingua import Language, LanguageDetectorBuilder

Lang = Literal["fr", "en"]

# English terms that French speakers use as they are in ML talk ("et pour le deep learning ?");
# left in, they outweigh the few French words of a short question. Masked before detection.
_LOANWORDS = re.compile(
    r"\b(machine[- ]learning|deep[- ]learning|ml ?ops|mlops|ml|ai|data( science| scientists?| engineers?)?|"
    r"cloud|pipelines?|notebooks?|features?|frameworks?|kaggle|python|pytorch|tensorflow|scikit-learn|"
    r"docker|kubernetes|git(hub)?|llms?|nlp|computer vision|fine[- ]tuning|feature engineering|"
    r"design|roadmap|portfolio|job|bootcamp|freelance|startup|big data)\b",
    re.IGNORECASE,
)

# Product and proper names (Airflow, Kubeflow, Andrew Ng) carry no language signal either:
# capitalised words after the first one are masked too.
_PROPER_NOUN = re.compile(r"(?<=\S\s)[A-Z][\w.+-]*")

_detector = None
_lock = threading.Lock()


def _get_detector():  # noqa: ANN202 - lingua has no public type for it
    global _detector
    with _lock:
        if _detector is None:
            _detector = LanguageDetectorBuilder.from_languages(
                Language.FRENCH, Language.ENGLISH
            ).build()
        return _detector


def detect_language(text: str, default: Lang = "en") -> Lang:
    """'fr' or 'en'; `default` when the text carries no signal (digits, one unknown word)."""
    masked = _PROPER_NOUN.sub(" ", _LOANWORDS.sub(" ", text))
    if sum(ch.isalpha() for ch in masked) < 2:
        return default
    confidences = _get_detector().compute_language_confidence_values(masked)
    if not confidences:
        return default
    best = confidences[0]
    if best.value < 0.55:
        return default
    return "fr" if best.language == Language.FRENCH else "en"
