"""A passage cut into the pieces an answer can quote: sentences, and whole list items with their lead-in.

Quoting sentence by sentence broke lists apart: a lead-in ("a typical project involves:") was
shown without its items, and an item without what it lists. Here a list item is one unit, whatever
its length, and remembers its lead-in, so a quoted item always comes with it and a lead-in is
never quoted alone. A regex splitter, not a trained one: punkt and spaCy need data downloads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# Splits after . ! ? … followed by a capital, a digit or an opening quote; not after an initial ("A. Ng").
_SENTENCE_END = re.compile(r"(?<![\s(][A-Z]\.)(?<=[.!?…])\s+(?=[«\"“(\[A-ZÀ-ÖØ-Þ0-9])")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`")
MIN_SENTENCE_CHARS = 25
MIN_ITEM_CHARS = 12
# A sentence opening on one of these leans on the one before ("It brings latency constraints...",
# "Ce rôle..."): quoted, it comes with that sentence, as a list item comes with its lead-in.
_LEANS_BACK = re.compile(
    r"^(?:it|its|this|these|that|those|they|their|such|there|he|she|"
    r"il|elle|ils|elles|ce|cet|cette|ces|cela|ça|celui|celle|ceux|celles|leur|leurs|son|sa|ses)\b",
    re.IGNORECASE,
)

UnitKind = Literal["sentence", "item", "lead"]
# Bump when the cutting or `embedding_text` changes: an index embedded with another version
# re-embeds its units when they are first quoted instead of using mismatched vectors.
UNITS_VERSION = 2


@dataclass(frozen=True)
class Unit:
    """One quotable piece of a passage; `lead` is what it cannot be read without: an item's lead-in,
    or the sentence before one that opens on "It", "Ce"..."""

    text: str
    kind: UnitKind
    order: int
    lead: str | None = None

    @property
    def embedding_text(self) -> str:
        """An item is compared with the question together with what it lists ("Where to look: LinkedIn...")."""
        return f"{self.lead} {self.text}" if self.lead else self.text


def clean(text: str) -> str:
    return _MARKDOWN_NOISE.sub("", text).strip()


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def passage_units(text: str) -> list[Unit]:
    """The passage's sentences, list items and lead-ins, in text order."""
    units: list[Unit] = []
    lead: str | None = None
    in_list = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _LIST_ITEM.match(line):
            item = clean(_LIST_ITEM.sub("", line))
            if len(item) >= MIN_ITEM_CHARS:
                units.append(Unit(item, "item", len(units), lead))
            in_list = True
            continue
        if in_list:  # a paragraph after a list ends it, and its lead-in
            lead, in_list = None, False
        for sentence in split_sentences(clean(line)):
            if sentence.endswith(":"):
                units.append(Unit(sentence, "lead", len(units)))
                lead = sentence
            elif len(sentence) >= MIN_SENTENCE_CHARS:
                before = units[-1].text if units and units[-1].kind == "sentence" and _LEANS_BACK.match(sentence) else None
                units.append(Unit(sentence, "sentence", len(units), before))
                lead = None
    return units
