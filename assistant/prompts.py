"""User-facing wording in French and English; one place to review the assistant's voice."""

from __future__ import annotations

from .language import Lang

NOT_COVERED: dict[Lang, str] = {
    "fr": (
        "Je suis désolé, cette question sort de ce que je couvre. Je réponds aux questions sur le "
        "métier d'ingénieur en machine learning : les compétences utiles (mathématiques, programmation, "
        "machine learning et deep learning, données, ingénierie logicielle, déploiement, communication, "
        "veille), comment les apprendre et où trouver de bonnes ressources. Essayez par exemple : "
        "« Quelles bases de mathématiques faut-il pour le machine learning ? »"
    ),
    "en": (
        "Sorry, that question is outside what I cover. I answer questions about the machine-learning "
        "engineer career: which skills matter (maths, programming, machine learning and deep learning, "
        "data work, software engineering, deployment, communication, continuous learning), how to learn "
        "them and where to find good resources. For example, try: "
        "\"What maths do I need for machine learning?\""
    ),
}

EXTRACTIVE_INTRO: dict[Lang, str] = {
    "fr": "Voici ce qu'en disent les sources :",
    "en": "Here is what the sources say:",
}

QUOTED_IN_OTHER_LANGUAGE: dict[Lang, str] = {
    "fr": "Voici ce qu'en disent les sources (citées dans leur langue d'origine, l'anglais) :",
    "en": "Here is what the sources say (quoted in their original language, French):",
}

EMPTY_QUESTION = "The question is empty: type a question. / La question est vide : saisissez une question."


def too_long(limit: int, length: int) -> str:
    return (
        f"The question is too long ({length} characters, limit {limit}): shorten it. / "
        f"La question est trop longue ({length} caractères, limite {limit}) : raccourcissez-la."
    )
