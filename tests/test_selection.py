"""Which pieces an extractive answer quotes, and in what order: unit tests on hand-made scores.

The vectors are unit vectors chosen so that the cosines (what decides) are known; the selection
on the real embedding model is covered by the answer tests in test_chat.py and test_retrieval.py.
"""

from __future__ import annotations

import numpy as np

from assistant.answering.answerability import named_share
from assistant.answering.selection import (
    OPENING_MARGIN,
    PART_GAIN,
    SAME_PASSAGE_MARGIN,
    Quote,
    add_parts,
    compose,
    not_said_before,
    rank_quotes,
    select,
)
from assistant.answering.units import passage_units
from assistant.schema import Source

SECTION = (
    "Most ML engineers need a master's degree or equivalent experience. "
    "Employers read the projects more closely than the diploma. "
    "Three routes lead there:\n"
    "- a master's in computer science;\n"
    "- an engineering school;\n"
    "- a self-taught path with a portfolio.\n"
    "A PhD matters only for research roles."
)


def _passage(n: int = 1, text: str = SECTION) -> Source:
    return Source(n=n, id=f"p{n}", text=text, score=0.9, title="Degrees", section="Which degree", source="d.md", lang="en")


def _ranked(passage: Source, scores: dict[int, float], offset: int = 0) -> list[tuple[Quote, np.ndarray]]:
    """Quotable units of `passage` scored by order (unlisted ones far below), each its own direction
    (from `offset` on, so that two passages' units are not taken for duplicates)."""
    units = [u for u in passage_units(passage.text) if u.kind != "lead"]
    size = 32
    ranked = []
    for i, unit in enumerate(units):
        vector = np.zeros(size)
        vector[offset + i] = 1.0
        score = scores.get(unit.order, 0.0)
        ranked.append((Quote(unit, passage, score, score), vector))
    return sorted(ranked, key=lambda item: -item[0].score)


def _orders(quotes: list[Quote]) -> list[int]:
    return sorted(q.unit.order for q in quotes)


def test_the_section_opening_comes_with_a_best_piece_from_further_down():
    passage = _passage()
    last = max(u.order for u in passage_units(passage.text))
    assert 0.8 * OPENING_MARGIN > SAME_PASSAGE_MARGIN  # below what would be added anyway
    quotes = select(_ranked(passage, {last: 0.90, 0: 0.90 - 0.8 * OPENING_MARGIN}), fill_chars=0)
    assert _orders(quotes) == [0, last]
    answer = compose(quotes)[0]
    assert answer.startswith("Most ML engineers need a master's degree") and answer.index("PhD") > 0  # passage order


def test_an_opening_far_below_the_best_piece_is_left_out():
    passage = _passage()
    last = max(u.order for u in passage_units(passage.text))
    quotes = select(_ranked(passage, {last: 0.90, 0: 0.90 - 2 * OPENING_MARGIN}), fill_chars=0)
    assert _orders(quotes) == [last]


def test_a_list_item_comes_with_its_lead_in_and_the_short_list_whole():
    passage = _passage()
    item = next(u for u in passage_units(passage.text) if u.kind == "item")
    quotes = select(_ranked(passage, {item.order: 0.95}))
    items = [q for q in quotes if q.unit.kind == "item"]
    assert len(items) == 3 and {q.unit.lead for q in items} == {"Three routes lead there:"}
    block = compose(quotes)[0]
    assert "Three routes lead there:\n- a master's in computer science; [1]" in block
    assert block.count("Three routes lead there:") == 1


def test_pieces_far_below_the_best_are_not_added_as_padding():
    passage = _passage()
    quotes = select(_ranked(passage, {0: 0.90, 1: 0.70}), fill_chars=0)  # the fill below is the one exception
    assert _orders(quotes) == [0]


def test_a_short_answer_is_filled_from_its_best_passage_only_in_its_order():
    best, other = _passage(1), _passage(2, "An unrelated passage about interviews. It has two sentences.")
    ranked = sorted(_ranked(best, {0: 0.90, 1: 0.60, 6: 0.65}) + _ranked(other, {0: 0.89}, offset=16), key=lambda item: -item[0].score)
    unfilled = select(ranked, fill_chars=0)
    assert {q.passage.n for q in unfilled} == {1, 2}  # the other passage's close piece, as before
    filled = select(ranked)
    assert [q.unit.order for q in filled if q.passage.n == 2] == [0]  # nothing more from the other passage
    assert {0, 1, 6} <= {q.unit.order for q in filled if q.passage.n == 1}  # the best passage's next-closest pieces
    assert len(filled) > len(unfilled)
    block = compose(filled)[0]
    assert block.startswith("Most ML engineers need") and block.index("Employers") < block.index("PhD")


def test_an_answer_long_enough_is_not_filled():
    quotes = select(_ranked(_passage(), {0: 0.90, 1: 0.70}), fill_chars=50)  # the opening alone is 67 characters
    assert _orders(quotes) == [0]


def test_a_list_item_that_is_not_the_best_piece_brings_its_short_list_whole():
    # The system-design case: the best piece is a sentence, one step of the list is close enough to
    # be added, and quoting it alone would cut the method to one step.
    passage = _passage()
    units = passage_units(passage.text)
    item = next(u for u in units if u.kind == "item")
    quotes = select(_ranked(passage, {1: 0.95, item.order: 0.95 - SAME_PASSAGE_MARGIN / 2}))
    items = [q for q in quotes if q.unit.kind == "item"]
    assert len(items) == 3 and any(q.unit.order == 1 for q in quotes)
    assert compose(quotes)[0].count("- ") == 3


def test_each_part_of_a_two_part_question_gets_its_own_best_piece():
    # "How do I land a remote job, and what pay can I expect?": the whole question picks the job-search
    # passage; the pay part is best answered by another passage's piece, which comes too.
    jobs, pay = _passage(1), _passage(2, "Contractors usually earn more gross than employees. They fund their own pension.")
    whole = sorted(_ranked(jobs, {0: 0.90, 1: 0.85}) + _ranked(pay, {0: 0.70}, offset=16), key=lambda item: -item[0].score)
    chosen = select(whole, fill_chars=0)
    assert {q.passage.n for q in chosen} == {1}
    jobs_part = sorted(_ranked(jobs, {0: 0.92}) + _ranked(pay, {0: 0.60}, offset=16), key=lambda item: -item[0].score)
    pay_part = sorted(_ranked(jobs, {0: 0.70}) + _ranked(pay, {0: 0.88}, offset=16), key=lambda item: -item[0].score)
    answered = add_parts(chosen, [jobs_part, pay_part])
    assert [(q.passage.n, q.unit.order) for q in answered[len(chosen):]] == [(2, 0)]  # the jobs part was answered already
    # A part whose best piece is already quoted adds nothing.
    assert add_parts(chosen, [jobs_part]) == chosen


def test_an_opening_yes_or_no_is_left_out_where_nobody_asked_for_one():
    from assistant.answering.backends import without_yes_or_no

    assert without_yes_or_no("Oui, le freelance est une voie viable. [1]") == "Le freelance est une voie viable. [1]"
    assert without_yes_or_no("- Yes: every ML engineer needs the basics [1]") == "- Every ML engineer needs the basics [1]"
    assert without_yes_or_no("Non-compete clauses are common. [1]") == "Non-compete clauses are common. [1]"
    assert without_yes_or_no("Nonetheless, practise. [1]") == "Nonetheless, practise. [1]"


class _Cache:
    """Units cut from the passage text, each its own direction (no embedding model)."""

    def get(self, passage: Source) -> tuple[list, np.ndarray]:
        units = passage_units(passage.text)
        vectors = np.zeros((len(units), 8))
        vectors[:, 0] = 1.0  # every unit as close to the question as the others
        return units, vectors


def test_a_question_that_names_a_programme_is_answered_from_the_passage_that_names_it():
    question = "Does the IASD master accept career changers?"
    general = Source(n=1, id="a", text="Most master's programmes select on the M1 record and a statement.", score=0.9,
                     title="Degrees", section="How masters select", source="d.md", lang="en", relevance=0.90)
    named = Source(n=2, id="b", text="IASD, a Dauphine-PSL M2, admits M1 graduates on application.", score=0.9,
                   title="Degrees", section="MVA or IASD", source="d.md", lang="en", relevance=0.88)
    assert named_share(question, [general, named]) == {1: 0.0, 2: 1.0}
    vector = np.zeros(8)
    vector[0] = 1.0
    plain = rank_quotes(vector, [general, named], "en", _Cache())
    assert plain[0][0].passage.n == 1  # the better-ranked passage leads when no name decides
    ranked = rank_quotes(vector, [general, named], "en", _Cache(), named_share(question, [general, named]))
    assert ranked[0][0].passage.n == 2


def test_a_follow_up_is_not_answered_with_what_the_previous_answer_already_quoted():
    passage = _passage()
    ranked = _ranked(passage, {0: 0.95, 1: 0.90, 5: 0.80})
    previous = "\n\n".join(compose(select(ranked[:1], fill_chars=0)))  # the previous answer quoted the best piece
    assert previous.startswith("Most ML engineers need a master's degree")
    left = not_said_before(ranked, previous)
    assert [q.unit.order for q, _ in left][:2] == [1, 5] and all(q.unit.order != 0 for q, _ in left)
    # Markdown and spacing of the earlier answer do not hide a repeat.
    assert all(q.unit.order != 0 for q, _ in not_said_before(ranked, "**Most  ML engineers need a master's degree** or equivalent experience. [1]"))
    # Nothing new at all: the ranking is kept, rather than an empty answer.
    everything = "\n".join(q.unit.text for q, _ in ranked)
    assert not_said_before(ranked, everything) == ranked
    assert not_said_before(ranked, None) == ranked
