"""Text normalisation shared by keyword search, the answerability checks and the answer guard."""

from __future__ import annotations

import threading
import unicodedata

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH


def fold(text: str) -> str:
    """Lowercase without accents, so 'données' and 'donnees' (and 'Déploiement') meet."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# French and English stop words, folded like the text they are compared with.
STOPWORDS = frozenset(fold(w) for w in (*STOPWORDS_EN, *STOPWORDS_FRENCH))


# Snowball stemmers (PyStemmer), one per language: "dérive" meets "dériver", "deploying" "deployment".
# Not thread-safe objects: one per thread.
_stemmers = threading.local()


def stemmer(lang: str) -> Stemmer.Stemmer:
    """This thread's Snowball stemmer for the language (English for anything but French)."""
    cache = _stemmers.__dict__
    if lang not in cache:
        cache[lang] = Stemmer.Stemmer("french" if lang == "fr" else "english")
    return cache[lang]
