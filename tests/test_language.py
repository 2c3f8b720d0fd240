import pytest

from assistant.language import detect_language, foreign_language


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
        # The English job words French speakers use as they are ("ML engineer junior") outweighed
        # "Combien gagne un ... à Paris": the answer came back in English.
        ("Combien gagne un ML engineer junior à Paris ?", "fr"),
        ("C'est facile de trouver un poste de ML engineer en full remote ?", "fr"),
        ("remote possible?", "en"),
        ("1234", "en"),
    ],
)
def test_detects_french_and_english(text: str, lang: str):
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Wie werde ich ML-Ingenieur, wenn ich vorher Physik studiert habe?", "German"),
        ("¿Cómo me preparo para una entrevista de machine learning?", "Spanish"),
        ("كيف أصبح مهندس تعلم آلي؟", "Arabic"),
        ("Wie werde ich ML-Ingenieur?", "German"),  # the fast detector alone said Dutch
        ("Ich bin Softwareentwickler. Wie lange dauert der Umstieg?", "German"),
    ],
)
def test_questions_in_a_third_language_are_recognised(text: str, named: str):
    assert foreign_language(text) == named


@pytest.mark.parametrize(
    "text",
    ["Kubernetes ?", "ok merci", "Quelles compétences en maths faut-il ?", "How do I deploy a model with Docker?", "Feature store : à quoi ça sert ?", "À quoi sert un feature store ?", "I'm a CS undergrad. How do I land an ML internship?",
     "which soft skills matter?", "Where do I start if I want to be a chef?", "installer un thème wordpress"],
)
def test_french_english_and_bare_terms_are_never_called_foreign(text: str):
    # Each of these was once called foreign by the fast detector alone (Italian, Swedish, German...).
    assert foreign_language(text) is None


@pytest.mark.parametrize("question", ["Wie werde ich ML-Ingenieur, wenn ich vorher Physik studiert habe?", "كيف أصبح مهندس تعلم آلي؟"])
def test_a_third_language_question_gets_the_languages_message(shipped_assistant, question: str):  # noqa: ANN001
    answer = shipped_assistant.ask(question)
    assert answer.status == "unsupported_language" and not answer.covered and not answer.sources
    # In English and in French, saying which languages the assistant speaks.
    assert "I answer in English and French only" in answer.text and "uniquement en français et en anglais" in answer.text
    assert "Dutch" not in answer.text


def test_the_languages_message_names_a_language_only_when_it_is_known():
    from assistant.answering.prompts import other_language
    from assistant.language import UNNAMED_LANGUAGE

    named = other_language("German")
    assert named.startswith("Your question seems to be in German.") and "semble être en allemand" in named
    unnamed = other_language(UNNAMED_LANGUAGE)
    assert "does not seem to be in English or French" in unnamed and "ne semble pas être en français ni en anglais" in unnamed
    assert "another language" not in unnamed
