import pytest

from assistant.language import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Quelles compétences en maths faut-il ?", "fr"),
        ("What maths do I need?", "en"),
        ("Comment déployer un modèle ?", "fr"),
        ("How do I deploy a model?", "en"),
        ("MLOps ?", "en"),
        ("Et pour le deep learning ?", "fr"),
        ("donne-moi des livres", "fr"),
        ("1234", "en"),
    ],
)
def test_detects_french_and_english(text: str, lang: str):
    assert detect_language(text) == lang
