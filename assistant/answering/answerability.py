"""Does the knowledge base answer the question at all? The lexical half of the answer.

Blind reading showed both backends quoting or writing around questions the corpus says nothing
about ("Jane Street's interview process", "salaries in Tallinn", "the D7 visa"), and E5's
similarities cannot tell those apart: a question on a named company's interviews sits as close
to the interview passages as a general one. What does tell them apart is that the question
names something (a company, a city, a visa, a tool, a code) that appears nowhere in the corpus.

Names are not the only sign. A precise question asked in ordinary words ("how long does the
prefecture take to renew my permit", "what form does my employer file", "the exact Syntec minimum
at coefficient 150") names nothing the corpus lacks, yet no section was written for it. The
corpus's documents list, per section, the questions it answers; such a question sits far from all
of them (`unanswered`).

Only the asking part of the question is read (its sentences ending with "?", else its last one): "I'm a PHP developer. Should I
go through data engineering first?" names PHP as context, not as what is asked. Pure numbers are
the user's situation ("I'm 42", "92% accuracy"), not a subject, and are ignored. A generating
backend adds its own verdict on the passages (`answerable` in its structured output).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ..schema import Source
from ..text import fold, stemmer

_TERM = re.compile(r"[^\W_](?:[\w'’]*[^\W_])?(?:[-./][^\W_]+)*", re.UNICODE)
_SENTENCES = re.compile(r"(?<=[.!?…])\s+")
# Figures, with a unit or not ("42", "92%", "10h", "3k"), are the user's situation, not a subject;
# "7B" or "p99" stay names.
_NUMBER = re.compile(r"^[\d.,/%-]+(?:h|hrs?|k|k€|€|\$|ans?|mois|months?|yrs?|years?|min)?$", re.IGNORECASE)
# Names given as examples ("un bootcamp genre Le Wagon ou Jedha", "places like DeepMind or FAIR"):
# the question is about the kind of thing, so one unknown example is not grounds for declining.
_EXAMPLES = re.compile(r"\b(?:genre|type|comme|like|such as|e\.g\.|par exemple|notamment|including)\s+([^,;:?!()]+)", re.IGNORECASE)
# Career abbreviations a corpus spells out: mentioned when every word of one spelling is.
ABBREVIATIONS = {
    "mle": ("machine learning engineer", "ml engineer"),
    "swe": ("software engineer",),
    "sde": ("software development engineer", "software engineer"),
    "ic": ("individual contributor",),
    "gcp": ("google cloud",),
    "ds": ("data scientist",),
    "pm": ("product manager",),
}
# Capitalised words that open or structure a question rather than name a subject.
_NOT_NAMES = {
    "i", "im", "i'm", "je", "j", "est-ce", "quel", "quelle", "quels", "quelles", "comment", "pourquoi", "combien",
    "what", "which", "how", "why", "when", "where", "who", "is", "are", "do", "does", "can", "should", "honest",
    "bonjour", "hello", "hi", "salut", "merci", "thanks", "ok", "et", "and", "mais", "but", "ou", "or",
    # The field itself, named in almost every question, whether or not a small corpus spells it so.
    "ml", "ai", "ia", "dl",
}


def corpus_vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Every word of the corpus, folded (lowercase, no accents), hyphenated and dotted forms kept whole,
    and their English and French stems (so "APIs" is found where a passage says "API")."""
    words: set[str] = set()
    for text in texts:
        for term in _TERM.findall(fold(text)):
            words.add(term)
            words.update(re.split(r"[-./]", term))
    return frozenset(words | _stems(words))


def _stems(words: Iterable[str]) -> set[str]:
    words = list(words)
    return {*stemmer("en").stemWords(words), *stemmer("fr").stemWords(words)}


def _mentioned(term: str, vocabulary: frozenset[str]) -> bool:
    """In the vocabulary as it is, by its stem, as every part of a compound ("TensorFlow/JAX",
    "LeetCode-style"), or, for an abbreviation, spelled out."""
    folded = fold(term)
    if folded in vocabulary or not _stems([folded]).isdisjoint(vocabulary):
        return True
    parts = [p for p in re.split(r"[-./]", folded) if p]
    if len(parts) > 1 and all(_mentioned(p, vocabulary) for p in parts):
        return True
    return any(all(_mentioned(w, vocabulary) for w in spelled.split()) for spelled in ABBREVIATIONS.get(folded, ()))


def asking_part(question: str) -> str:
    """The sentences that ask something (end with ?), else the last sentence: not the user's context."""
    sentences = [s for s in _SENTENCES.split(question.strip()) if s.strip()]
    if not sentences:
        return question
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    return " ".join(asking) if asking else sentences[-1]


# Where one asking part asks two things: after a question mark, or at ", and" / ", et" ("..., et par
# quoi je commence ?"). Not at "or": "X or Y?" is one question about two options.
_PARTS = re.compile(r"(?<=\?)\s+|,\s+(?:et|and|mais|but)\s+", re.IGNORECASE)
MIN_PART_WORDS = 3


def question_parts(question: str) -> list[str]:
    """The separate things the question asks ("What do coding rounds look like? Is it pure LeetCode?"),
    when there are two or more of at least three words each; else []."""
    parts = [p.strip() for p in _PARTS.split(asking_part(question)) if len(_TERM.findall(p)) >= MIN_PART_WORDS]
    return parts if len(parts) >= 2 else []


# Asking words: from one of them on, a sentence asks "how / which / why...", not for a yes or a no.
_WH_WORDS = {
    "comment", "combien", "pourquoi", "où", "quand", "quel", "quelle", "quels", "quelles", "quoi", "qu'est-ce",
    "lequel", "laquelle", "lesquels", "lesquelles",
    "what", "which", "how", "why", "when", "where", "who", "whom", "whose",
}
_AUXILIARIES = {
    "is", "are", "am", "was", "were", "do", "does", "did", "can", "could", "should", "would", "will", "shall",
    "may", "might", "must", "have", "has", "had", "isn't", "aren't", "don't", "doesn't", "can't", "shouldn't",
}
_FILLERS = {"so", "ok", "okay", "and", "but", "also", "honestly", "honest", "question", "hey", "hi", "hello", "well", "then",
            "et", "mais", "alors", "bon", "donc", "bonjour", "salut"}
_FR_INVERSION = re.compile(r"^\w+-(?:t-)?(?:il|elle|on|je|tu|nous|vous|ils|elles)$")


def asks_yes_or_no(question: str, language: str) -> bool:
    """Whether one of the asking sentences opens as a question a yes or a no answers ("Is it too late?",
    "Faut-il un master ?", "c'est réaliste ?", "should I negotiate, and how?", "is it doable or a crazy
    idea?"), not one that opens on "how...", "which...", "comment...".

    A quoted "Oui, ..." or "Yes, ..." opening a section answers that section's own question; under "Comment
    je trouve une alternance ?" it reads as a yes to something the user did not ask.
    """
    clauses = [c for sentence in _SENTENCES.split(asking_part(question)) for c in re.split(r"[,;:]", sentence)]
    for clause in clauses:  # "just got my first offer, should I negotiate?": the asking clause
        words = [m.group(0).lower().replace("’", "'") for m in _TERM.finditer(clause)]
        if not words:
            continue
        cut = next((i for i, w in enumerate(words) if w in _WH_WORDS), len(words))
        head = [w for w in words[:cut] if w not in _FILLERS]
        if not head:
            continue
        if head[0] in _AUXILIARIES:
            return True
        if language == "fr" and (cut == len(words) or head[0] == "est-ce" or any(_FR_INVERSION.match(w) for w in head)):
            return True  # French asks by "est-ce que", by inversion, or by intonation alone ("c'est réaliste ?")
    return False


def named_terms(question: str) -> list[str]:
    """What the asking part names: capitalised words past its first, acronyms, codes mixing letters and digits."""
    terms: list[str] = []
    for sentence in _SENTENCES.split(asking_part(question)):
        for position, match in enumerate(_TERM.finditer(sentence)):
            term = match.group(0).strip("'’")
            if _NUMBER.match(term) or term.lower() in _NOT_NAMES:
                continue
            has_digit = any(ch.isdigit() for ch in term)
            acronym = sum(ch.isupper() for ch in term) >= 2
            capitalised = term[0].isupper() and position > 0  # a sentence's first word is capitalised anyway
            if has_digit or acronym or capitalised:
                terms.append(term)
    return list(dict.fromkeys(terms))


def missing_terms(question: str, vocabulary: frozenset[str]) -> list[str]:
    """The names the question asks about that appear nowhere in the corpus (case and accents ignored).

    Unknown examples of a kind the corpus knows another example of are left to the passages' note
    (`unmentioned_terms`): "genre Le Wagon ou Jedha" asks about bootcamps, not about Jedha.
    """
    named = named_terms(question)
    missing = [term for term in named if not _mentioned(term, vocabulary)]
    for phrase in _example_lists(asking_part(question)):
        examples = [t for t in phrase if t in named]
        if any(_mentioned(t, vocabulary) for t in examples):
            missing = [t for t in missing if t not in examples]
    return missing


def _example_lists(text: str) -> list[list[str]]:
    """The words of each "like X or Y" / "genre X ou Y" phrase of the text."""
    return [[m.group(0).strip("'’") for m in _TERM.finditer(phrase)] for phrase in _EXAMPLES.findall(text)]


# Shorter names are mostly acronyms a passage spells out ("CS" for computer science).
MIN_UNMENTIONED_CHARS = 3


def unmentioned_terms(question: str, passage_texts: Iterable[str]) -> list[str]:
    """The names the question asks about that the corpus has but none of these passages mentions.

    The answer still comes from the passages, led by a plain note that they do not cover that
    part ("et JAX alors ?" answered from PyTorch and TensorFlow passages must say JAX is not there).
    """
    shown = corpus_vocabulary(passage_texts)
    return [t for t in named_terms(question) if len(t) >= MIN_UNMENTIONED_CHARS and not _mentioned(t, shown)]


def named_share(question: str, passages: Sequence[Source]) -> dict[int, float]:
    """Per passage number, the share of the names the question asks about (MVA, IASD, Malt) it mentions.

    A question that names a programme or a tool is answered from the passage that names it, not from
    a better-ranked one written for another situation.
    """
    named = [t for t in named_terms(question) if len(t) >= MIN_UNMENTIONED_CHARS]
    if not named:
        return {}
    shares: dict[int, float] = {}
    for passage in passages:
        shown = corpus_vocabulary([f"{passage.title} {passage.section} {passage.text}"])
        shares[passage.n] = sum(_mentioned(t, shown) for t in named) / len(named)
    return shares


# A question this long or longer is judged by its closest listed question; shorter ones ("remote
# possible?", "is it too late at 35?") are general by nature and sit structurally further from the
# listed questions, which are full sentences (eval/DECISIONS.md: 3 of 44 short borderline questions
# fell below the cut, no precise one was under 10 words).
MIN_WORDS_FOR_LISTED_CHECK = 10


def unanswered(question: str, closest_listed: float | None, cut: float) -> bool:
    """True when no section lists a question close to this one: the corpus was not written to answer it.

    `closest_listed` is the cosine of the corpus's closest listed question to the question (or to its
    condensed form); None when the index lists none, and then nothing is decided here. On the tuning
    sets, the cut of 0.895 told 10 of the 17 answered questions the corpus does not answer (the Syntec
    minimum, a non-compete in Massachusetts, a permit's delay), and 2 of about 610 it does answer
    (eval/DECISIONS.md).
    """
    if closest_listed is None or cut <= 0:
        return False
    return len(_TERM.findall(question)) >= MIN_WORDS_FOR_LISTED_CHECK and closest_listed < cut
