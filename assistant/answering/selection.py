"""Which pieces of the passages answer the question, and how to put them together as a readable answer.

The extractive answer is made of the passages' own words, so it can only be as good as what it
picks and how it orders it. Rules, each from a failure seen in blind reading:
- the first line is the piece closest to the question, so the answer opens on what was asked;
- a list item comes with its lead-in, and a lead-in never comes alone;
- pieces of one passage stay together and in the passage's order (steps keep their sequence);
- only pieces nearly as close to the question as the best one are added (no padding), and a piece
  whose twin in the other language was already picked is skipped;
- a short list a chosen item belongs to comes whole (steps, levels, options);
- the best passage's opening sentence comes too: sections open on their answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..embeddings import PackagedEmbeddings
from ..schema import Source
from .units import Unit, passage_units

# How far below the best piece another one may score and still be added (cosine).
SAME_PASSAGE_MARGIN = 0.06
OTHER_PASSAGE_MARGIN = 0.03
DUPLICATE = 0.93  # cosine above which two pieces say the same thing (in one language or across both)
# Scoring of a piece (eval/DECISIONS.md, "Extractive answers"): its cosine, plus its passage's lead or lag.
PASSAGE_WEIGHT = 1.0
RANK_PENALTY = 0.03
LANGUAGE_BONUS = 0.01
# Added per piece of a passage that mentions every name the question asks about (MVA, IASD, Malt), in
# proportion to the share it mentions: such a question is answered from the passage that names it
# (blind reading on the tuning questions: preferred 6 to 1; eval/DECISIONS.md).
NAMED_BONUS = 0.1


@dataclass(frozen=True)
class Quote:
    """A piece of a passage scored against the question."""

    unit: Unit
    passage: Source
    similarity: float
    score: float


class UnitCache:
    """Passages cut into units with their vectors: from the index when it has them, else embedded once."""

    def __init__(self, embeddings: PackagedEmbeddings, size: int = 4096) -> None:
        self.embeddings = embeddings
        self._items: OrderedDict[tuple[str, str], tuple[list[Unit], np.ndarray]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()
        # Set by the assistant: the served index's units by chunk id (embedded at build).
        self.precomputed: Callable[[], dict[str, tuple[list[Unit], np.ndarray]]] | None = None

    def get(self, passage: Source) -> tuple[list[Unit], np.ndarray]:
        if self.precomputed is not None:
            table = self.precomputed()
            parts = [table.get(chunk_id) for chunk_id in passage.chunk_ids or [passage.id]]
            if all(part is not None for part in parts):
                return _joined(parts)  # type: ignore[arg-type]
        key = (passage.id, passage.text)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        units = passage_units(passage.text)
        vectors = self.embeddings.embed_passages([u.embedding_text for u in units])
        with self._lock:
            self._items[key] = (units, vectors)
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return units, vectors


def _joined(parts: list[tuple[list[Unit], np.ndarray]]) -> tuple[list[Unit], np.ndarray]:
    """The units of consecutive chunks as one passage's (a section widened past its chunk), in order.

    The chunks overlap: a piece repeated at a boundary is left to the selection's duplicate check.
    """
    if len(parts) == 1:
        return parts[0]
    units: list[Unit] = []
    for part_units, _ in parts:
        offset = len(units)
        units += [replace(unit, order=unit.order + offset) for unit in part_units]
    return units, np.vstack([vectors for _, vectors in parts])


def rank_quotes(
    question_vector: np.ndarray, passages: list[Source], language: str, cache: UnitCache, named: dict[int, float] | None = None
) -> list[tuple[Quote, np.ndarray]]:
    """Every quotable unit of the passages with its vector, best first.

    The score is the unit's cosine to the question, plus how far its passage's retrieval score
    (passage, heading and keywords fused) trails the best one, minus a little per rank, plus a
    nudge towards the user's language: retrieval ranks passages better than a single piece's
    cosine does, so pieces of a lower passage must be clearly closer to be quoted first. Lead-ins
    are not quotable on their own. `named`: per passage number, the share of the question's names
    it mentions (`answerability.named_share`).
    """
    scored: list[tuple[Quote, np.ndarray]] = []
    top = max((p.relevance for p in passages), default=0.0)
    for rank, passage in enumerate(passages):
        units, vectors = cache.get(passage)
        if not units:
            continue
        similarities = vectors @ question_vector
        for unit, vector, similarity in zip(units, vectors, similarities):
            if unit.kind == "lead":
                continue
            score = (
                float(similarity)
                + PASSAGE_WEIGHT * (passage.relevance - top)
                - RANK_PENALTY * rank
                + (LANGUAGE_BONUS if passage.lang == language else 0.0)
                + NAMED_BONUS * (named or {}).get(passage.n, 0.0)
            )
            scored.append((Quote(unit, passage, float(similarity), score), vector))
    scored.sort(key=lambda item: -item[0].score)
    return scored


# How much of a piece's start or end must be found in the previous answer for it to count as said.
SAID_CHARS = 60


def _plain(text: str) -> str:
    return " ".join(text.replace("*", "").split()).lower()


def not_said_before(ranked: list[tuple[Quote, np.ndarray]], previous_answer: str | None) -> list[tuple[Quote, np.ndarray]]:
    """The ranking without the pieces the previous answer already quoted, so a follow-up gets what
    is new; the whole ranking when every piece was said (better said twice than nothing).

    A follow-up is searched with the previous question in front, so it meets the same passages:
    before this, 23 of 137 tuning follow-up answers repeated the previous answer line for line
    (eval/DECISIONS.md, "Follow-ups that point back").
    """
    if not previous_answer:
        return ranked
    said = _plain(previous_answer)

    def was_said(text: str) -> bool:
        plain = _plain(text)
        return plain[:SAID_CHARS] in said or plain[-SAID_CHARS:] in said

    new = [(quote, vector) for quote, vector in ranked if not was_said(quote.unit.text)]
    return new or ranked


def select(
    ranked: list[tuple[Quote, np.ndarray]],
    max_units: int = 5,
    max_chars: int = 950,
    only_close: bool = True,
    fill_chars: int | None = None,
) -> list[Quote]:
    """The best quote, then the ones close enough to it (any, with `only_close=False`), without near-duplicates.

    An answer shorter than `fill_chars` (default `SHORT_ANSWER_CHARS`; 0: never) is filled from its best passage.
    """
    if not ranked:
        return []
    best = ranked[0][0]
    chosen: list[tuple[Quote, np.ndarray]] = []
    length = 0
    for quote, vector in ranked:
        same = quote.passage.n == best.passage.n
        margin = SAME_PASSAGE_MARGIN if same else OTHER_PASSAGE_MARGIN
        if only_close and chosen and quote.score < best.score - margin:
            continue
        if any(float(vector @ other) > DUPLICATE for _, other in chosen):
            continue
        if only_close and chosen and length + len(quote.unit.text) > max_chars:
            continue
        chosen.append((quote, vector))
        length += len(quote.unit.text)
        if len(chosen) == max_units:
            break
    if only_close:
        chosen += _rest_of_list(ranked, chosen, max_chars + LIST_EXTRA_CHARS - length)
        chosen += _section_opening(ranked, chosen)
        filled = _filled(ranked, chosen, max_chars, SHORT_ANSWER_CHARS if fill_chars is None else fill_chars)
        if filled:
            chosen += filled
            chosen += _rest_of_list(ranked, chosen, max_chars + LIST_EXTRA_CHARS - _length(chosen))
    return [q for q, _ in chosen]


# A section written for the question opens on a one-sentence summary, which is the piece closest to
# it; its details (the steps, the gaps, the timeline) score lower one by one and were left out, so
# the answer was that summary alone (blind reading: "one-sentence answers that leave out the gaps
# and timeline the passages give"). A short answer is filled with the best passage's next-closest
# pieces, in the passage's order.
SHORT_ANSWER_CHARS = 450
FILL_TARGET_CHARS = 700


def _length(chosen: list[tuple[Quote, np.ndarray]]) -> int:
    return sum(len(q.unit.text) for q, _ in chosen)


def _filled(
    ranked: list[tuple[Quote, np.ndarray]], chosen: list[tuple[Quote, np.ndarray]], max_chars: int, short_chars: int
) -> list[tuple[Quote, np.ndarray]]:
    length = _length(chosen)
    if length >= short_chars:
        return []
    best = chosen[0][0]
    have = {id(q.unit) for q, _ in chosen}
    added: list[tuple[Quote, np.ndarray]] = []
    for quote, vector in ranked:
        if length >= FILL_TARGET_CHARS:
            break
        if quote.passage.n != best.passage.n or id(quote.unit) in have or length + len(quote.unit.text) > max_chars:
            continue
        if any(float(vector @ other) > DUPLICATE for _, other in (*chosen, *added)):
            continue
        added.append((quote, vector))
        length += len(quote.unit.text)
    return added


# Every section opens on the sentence that answers its heading. When the best piece comes from
# further down, that opening is added (it comes first: pieces keep the passage's order) unless it
# scores far below. Blind reading: answers that kept it won 9 of 11 pairs (eval/DECISIONS.md).
OPENING_MARGIN = 0.10


def _section_opening(ranked: list[tuple[Quote, np.ndarray]], chosen: list[tuple[Quote, np.ndarray]]) -> list[tuple[Quote, np.ndarray]]:
    best = chosen[0][0]
    opening = next(((q, v) for q, v in ranked if q.passage.n == best.passage.n and q.unit.order == 0), None)
    if opening is None or opening[0].unit.kind != "sentence" or opening[0].score < best.score - OPENING_MARGIN:
        return []
    if any(opening[0].unit is q.unit or float(opening[1] @ v) > DUPLICATE for q, v in chosen):
        return []
    return [opening]


# A short list opened by a lead-in ("five steps:", "three levels:") is one answer: quoting two of its
# items reads as fragments and skips the step that was asked about (blind reading: the 5-step
# system-design method quoted as one step, the certification steps without "choose the provider").
# Every list a chosen item belongs to comes whole when it is short and the budget allows.
MAX_LIST_ITEMS = 7
LIST_EXTRA_CHARS = 500


def _rest_of_list(
    ranked: list[tuple[Quote, np.ndarray]], chosen: list[tuple[Quote, np.ndarray]], budget: int
) -> list[tuple[Quote, np.ndarray]]:
    have = {id(q.unit) for q, _ in chosen}
    lists = dict.fromkeys((q.passage.n, q.unit.lead) for q, _ in chosen if q.unit.kind == "item" and q.unit.lead)
    added: list[tuple[Quote, np.ndarray]] = []
    for n, lead in lists:
        siblings = [(q, v) for q, v in ranked if q.passage.n == n and q.unit.kind == "item" and q.unit.lead == lead]
        missing = [(q, v) for q, v in siblings if id(q.unit) not in have]
        size = sum(len(q.unit.text) for q, _ in missing)
        if len(siblings) > MAX_LIST_ITEMS or size > budget:
            continue
        added += missing
        budget -= size
    return added


# A question that asks two things ("how do I land a remote job, and what pay can I expect?") was
# answered on its first part only: the pieces closest to the whole question are the ones about the
# dominant part. Each part gets its own closest piece when that piece scores higher for the part than
# every piece already chosen, by at least this much (0.02 changed 9 tuning answers; 0 changed 34,
# preferred 28 to 1 in blind reading: eval/DECISIONS.md).
PART_GAIN = 0.0


def add_parts(
    chosen: list[Quote], part_rankings: list[list[tuple[Quote, np.ndarray]]], max_chars: int = 950
) -> list[Quote]:
    """`chosen` plus, per part of the question (each ranked with `rank_quotes` on the part alone), its best piece
    when it scores higher for that part than every chosen one; a list item brings its short list whole."""
    def key(quote: Quote) -> tuple[int, int]:  # rankings cut the passages anew: compare pieces by place
        return quote.passage.n, quote.unit.order

    result = list(chosen)
    budget = max_chars + LIST_EXTRA_CHARS - sum(len(q.unit.text) for q in result)
    for ranked in part_rankings:
        if not ranked:
            continue
        by_unit = {key(q): (q, v) for q, v in ranked}
        have = [by_unit[key(q)] for q in result if key(q) in by_unit]
        best, vector = ranked[0]
        answered = max((q.score for q, _ in have), default=float("-inf"))
        if key(best) in {key(q) for q in result} or best.score < answered + PART_GAIN:
            continue
        if any(float(vector @ other) > DUPLICATE for _, other in have) or len(best.unit.text) > budget:
            continue
        added = [(best, vector)]
        added += _rest_of_list(ranked, [*have, *added], budget - len(best.unit.text))
        result += [q for q, _ in added]
        budget -= sum(len(q.unit.text) for q, _ in added)
    return result


def compose(quotes: list[Quote]) -> list[str]:
    """Markdown blocks: passages in the order their best piece was picked, pieces in the passage's own order.

    Sentences of a passage read as one paragraph ending with its citation; list items keep their
    lead-in and get a citation each.
    """
    groups: dict[int, list[Quote]] = {}
    for quote in quotes:
        groups.setdefault(quote.passage.n, []).append(quote)
    blocks: list[str] = []
    for n, group in groups.items():
        group.sort(key=lambda q: q.unit.order)
        lines: list[str] = []
        sentences: list[str] = []
        lead: str | None = None

        def flush_sentences() -> None:
            if sentences:
                lines.append(" ".join(sentences) + f" [{n}]")
                sentences.clear()

        for quote in group:
            unit = quote.unit
            if unit.kind == "item":
                flush_sentences()
                if unit.lead and unit.lead != lead:
                    lines.append(unit.lead)
                lead = unit.lead
                lines.append(f"- {unit.text} [{n}]")
            else:
                if lead is not None:
                    lines.append("")
                    lead = None
                if unit.lead and unit.lead not in sentences:
                    sentences.append(unit.lead)  # the sentence it leans on
                sentences.append(unit.text)
        flush_sentences()
        blocks.append("\n".join(lines))
    return blocks
