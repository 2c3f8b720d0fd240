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
    r"design|roadmap|portfolio|job|bootcamp|freelance|startup|big data|engineers?|engineering|junior|senior|"
    r"full[- ]remote)\b",
    re.IGNORECASE,
)

# Product and proper names (Airflow, Kubeflow, Andrew Ng) carry no language signal either:
# capitalised words after the first one are masked too.
_PROPER_NOUN = re.compile(r"(?<=\S\s)[A-Z][\w.+-]*")

_detectors: dict[str, object] = {}
_lock = threading.Lock()

# Languages a question may come in that the assistant does not answer in: it says which ones it
# speaks instead. Trigram models only (low-accuracy mode): ~25 MB, and reliable from four words.
_OTHER_LANGUAGES = (
    Language.GERMAN, Language.SPANISH, Language.ITALIAN, Language.PORTUGUESE, Language.DUTCH, Language.ARABIC,
    Language.CHINESE, Language.JAPANESE, Language.KOREAN, Language.RUSSIAN, Language.POLISH, Language.TURKISH,
    Language.HINDI, Language.VIETNAMESE, Language.INDONESIAN, Language.SWEDISH, Language.ROMANIAN, Language.UKRAINIAN,
)
_MIN_FOREIGN_WORDS = 4
_MIN_FOREIGN_CONFIDENCE = 0.6
_OWN_LANGUAGE_CHANCE = 0.2
_MIN_NAMED_CONFIDENCE = 0.9  # naming a non-Latin-script language from the fast detector
_MIN_PRECISE_NAMED = 0.5  # naming a Latin-script one from the precise detector
_LATIN_SCRIPT = {
    Language.GERMAN, Language.SPANISH, Language.ITALIAN, Language.PORTUGUESE, Language.DUTCH, Language.POLISH,
    Language.TURKISH, Language.VIETNAMESE, Language.INDONESIAN, Language.SWEDISH, Language.ROMANIAN,
}
UNNAMED_LANGUAGE = "another language"  # foreign_language's answer when it will not guess which one
# Function words found in French or English and not in the other languages above: two of them and
# the text is French or English, whatever the trigrams say ("et pour le live coding, plutôt
# leetcode ou pandas ?" looks German to them).
_OWN_MARKERS = {
    "fr": frozenset("et pour les est une des du je vous avec dans sur pas quel quelle quels quelles comment "
                    "c'est plutôt aussi mais faut ça qu'il j'ai quoi à où qu'est-ce est-ce dois peut mon mes".split()),
    "en": frozenset("the and is what how which should with does my you are to of can i'm".split()),
}
_WORDS = re.compile(r"[\w']+")


def _detector(name: str, *languages: Language, low_accuracy: bool = False) -> object:
    """Each detector built once, on first use (lingua loads its models then), shared by all threads."""
    with _lock:
        if name not in _detectors:
            builder = LanguageDetectorBuilder.from_languages(*languages)
            _detectors[name] = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()
        return _detectors[name]


def _get_detector() -> object:
    return _detector("fr-en", Language.FRENCH, Language.ENGLISH)


def _world() -> object:
    return _detector("world", Language.FRENCH, Language.ENGLISH, *_OTHER_LANGUAGES, low_accuracy=True)


def _precise() -> object:
    latin = (language for language in _OTHER_LANGUAGES if language in _LATIN_SCRIPT)
    return _detector("precise", Language.FRENCH, Language.ENGLISH, *latin)


def _mask(text: str) -> str:
    return _PROPER_NOUN.sub(" ", _LOANWORDS.sub(" ", text))


def foreign_language(text: str) -> str | None:
    """The name of the language the text is in when it is clearly neither French nor English, else None.

    Conservative: short or mixed questions ("Kubernetes ?", "ok merci") are never called foreign,
    only a text mostly in a non-Latin script, or four words or more that the fast detector gives to
    another language and the precise one confirms. The language is named only when the detector
    is fairly sure of it, else `UNNAMED_LANGUAGE`.
    """
    masked = _mask(text)
    letters = [ch for ch in masked if ch.isalpha()]
    if not letters:
        return None
    words = [w.lower() for w in _WORDS.findall(text)]  # function words are never names: read them unmasked
    if any(sum(w in markers for w in words) >= 2 for markers in _OWN_MARKERS.values()):
        return None
    non_latin = sum(not ("a" <= ch.lower() <= "z" or "\u00c0" <= ch <= "\u024f") for ch in letters) / len(letters)
    confidences = _world().compute_language_confidence_values(masked)  # type: ignore[attr-defined]
    if not confidences:
        return None
    best = confidences[0]
    if best.language in (Language.FRENCH, Language.ENGLISH):
        return None
    # A real chance of French or English: answer it rather than turn it away ("À quoi sert un feature
    # store ?" scored Italian 0.61, French 0.33).
    if any(c.language in (Language.FRENCH, Language.ENGLISH) and c.value >= _OWN_LANGUAGE_CHANCE for c in confidences):
        return None
    if non_latin > 0.5:
        return best.language.name.capitalize() if best.value >= _MIN_NAMED_CONFIDENCE else UNNAMED_LANGUAGE
    if len(masked.split()) < _MIN_FOREIGN_WORDS or best.value < _MIN_FOREIGN_CONFIDENCE:
        return None
    # The fast detector errs on short Latin-script text: English questions of a few words were
    # scored Swedish or German ("which soft skills matter?"). Its suspicion is checked by the
    # precise one, loaded the first time it is needed (a few seconds, ~300 MB).
    precise = _precise().compute_language_confidence_values(text)  # type: ignore[attr-defined]
    if not precise or precise[0].language in (Language.FRENCH, Language.ENGLISH):
        return None
    top = precise[0]
    return top.language.name.capitalize() if top.value >= _MIN_PRECISE_NAMED else UNNAMED_LANGUAGE


def detect_language(text: str, default: Lang = "en") -> Lang:
    """'fr' or 'en'; `default` when the text carries no signal (digits, one unknown word)."""
    masked = _mask(text)
    if sum(ch.isalpha() for ch in masked) < 2:
        return default
    confidences = _get_detector().compute_language_confidence_values(masked)
    if not confidences:
        return default
    best = confidences[0]
    if best.value < 0.55:
        return default
    return "fr" if best.language == Language.FRENCH else "en"
