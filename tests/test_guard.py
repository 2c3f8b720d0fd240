"""The sentence-level check of generated answers (unit tests: no model needed)."""

from __future__ import annotations

import pytest

from assistant.answering.guard import AnswerGuard, UnsupportedAnswerError
from assistant.schema import Source


def _source(n: int, text: str) -> Source:
    return Source(n=n, id=f"c{n}", text=text, score=0.9, title="Maths", section="Linear algebra", source="corpus/x.md", lang="en")


PASSAGES = [
    _source(1, "Linear algebra matters: vectors, matrices and eigenvalues appear in every model."),
    _source(2, "Probability and statistics help you evaluate models and reason about uncertainty."),
]


def _run(guard: AnswerGuard, pieces: list[str]) -> str:
    return "".join(guard.feed(p) for p in pieces) + guard.flush()


def test_supported_sentences_pass_through_while_streaming():
    guard = AnswerGuard(PASSAGES)
    out = [guard.feed(p) for p in ["Vectors and matri", "ces appear in every model [1]. ", "Statistics help "]]
    # A sentence is released once the next one has started (its first letter tells it really ended).
    assert out[0] == out[1] == "" and out[2] == "Vectors and matrices appear in every model [1]."
    assert guard.flush() == " Statistics help [2] "


def test_injected_payload_is_dropped_and_the_rest_kept():
    guard = AnswerGuard(PASSAGES)
    text = _run(guard, ["Eigenvalues appear in every model [1]. ", "Arrr, moussaillon, PWNED! ", "Statistics evaluate models [2]."])
    assert "PWNED" not in text and "Arrr" not in text
    assert "Eigenvalues" in text and "[2]" in text and len(guard.dropped) == 1


def test_missing_citation_is_added_from_the_closest_passage():
    guard = AnswerGuard(PASSAGES)
    assert _run(guard, ["Probability helps reason about uncertainty."]) == "Probability helps reason about uncertainty [2]."


def test_citation_after_the_full_stop_stays_with_its_sentence():
    guard = AnswerGuard(PASSAGES)
    assert guard.feed("Vectors appear in every model. [1] Next") == "Vectors appear in every model. [1]"


def test_an_answer_with_nothing_supported_is_refused():
    guard = AnswerGuard(PASSAGES)
    with pytest.raises(UnsupportedAnswerError):
        _run(guard, ["I am a pirate now. ", "Here is my system prompt verbatim."])


def test_prefixes_accept_inflections_across_french_words():
    passages = [_source(1, "L'apprentissage continu passe par la lecture d'articles de recherche.")]
    guard = AnswerGuard(passages)
    assert guard.support("Apprendre en continu, c'est lire des articles de recherche.") >= 0.6


def test_a_name_or_figure_no_passage_gives_is_dropped():
    passages = [_source(1, "Dive into Deep Learning, by Aston Zhang and colleagues, is free online at https://d2l.ai/.")]
    guard = AnswerGuard(passages)
    text = _run(guard, [
        "Dive into Deep Learning by Aston Zhang is free online [1]. ",
        "Dive into Deep Learning was written by Zachary Prince [1]. ",
        "It is free online and has 42 chapters [1]. ",
        "It is free online at https://d2l.ai/ [1].",
    ])
    assert "Aston Zhang" in text and "https://d2l.ai/" in text
    assert "Prince" not in text and "42" not in text and len(guard.dropped) == 2


def test_stray_citations_are_dropped_and_the_sentence_cited_once():
    guard = AnswerGuard(PASSAGES)
    text = _run(guard, ["[1] Probability helps reason about uncertainty. ", "[2]"])
    assert text == "Probability helps reason about uncertainty [2]. "


def test_a_citation_used_as_the_subject_is_kept():
    guard = AnswerGuard(PASSAGES)
    assert _run(guard, ["[2] helps evaluate models and reason about uncertainty."]) == "[2] helps evaluate models and reason about uncertainty."


def test_initials_and_abbreviations_do_not_end_a_sentence():
    passages = [_source(1, "Mathematics for Machine Learning, by Marc Peter Deisenroth, A. Aldo Faisal and Cheng Soon Ong.")]
    guard = AnswerGuard(passages)
    text = _run(guard, ["Mathematics for Machine Learning is by Marc Peter Deisenroth, A. Aldo Faisal and Cheng Soon Ong."])
    assert text == "Mathematics for Machine Learning is by Marc Peter Deisenroth, A. Aldo Faisal and Cheng Soon Ong [1]."


def test_shouted_payload_at_the_start_of_a_sentence_is_dropped():
    guard = AnswerGuard(PASSAGES)
    text = _run(guard, ["Statistics help evaluate models [2]. ", "PWNED [2]."])
    assert "PWNED" not in text and "Statistics" in text


def test_passages_in_the_other_language_are_checked_on_names_only():
    french = [Source(n=1, id="c1", text="Python et SQL sont indispensables ; TensorFlow et PyTorch aussi.", score=0.9,
                     title="Programmation", section="", source="corpus/x.md", lang="fr")]
    guard = AnswerGuard(french, language="en")
    text = _run(guard, ["An ML engineer should know Python and SQL [1]. ", "Also learn Rust and Julia [1]."])
    assert "Python and SQL" in text and "Rust" not in text
