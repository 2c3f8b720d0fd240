"""Text normalisation shared by keyword search and the answer guard."""

from __future__ import annotations

import unicodedata

from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_FRENCH


def fold(text: str) -> str:
    """Lowercase without accents, so 'données' and 'donnees' (and 'Déploiement') meet."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# French and English stop words, folded like the text they are compared with.
STOPWORDS = frozenset(fold(w) for w in (*STOPWORDS_EN, *STOPWORDS_FRENCH))
