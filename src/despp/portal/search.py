"""Site search over the hub's content: divisions and their resources, programs and services.

The content is small and fixed, so the index is a tuple built once and searched in memory.
Every word of the query must match the start of a word somewhere in an entry ("certif" finds
"certification"); entries whose title matches rank above those that only mention the words in
their text.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from django.db import models

from despp.portal.content import DIVISIONS, Division, Item, Section

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12

_WORD = re.compile(r"\w+")


class QueryProblem(models.TextChoices):
    """Why a query was not run; the label is the message shown to the person searching."""

    EMPTY = "empty", "Enter a word or phrase to search for."
    TOO_LONG = "too_long", f"Enter a shorter search, of {MAX_QUERY_LENGTH} characters or fewer."
    TOO_MANY_WORDS = "too_many_words", f"Enter a shorter search, of {MAX_TERMS} words or fewer."
    NO_WORDS = "no_words", "Enter letters or numbers to search for."


_KIND = {
    Section.RESOURCES: "Resource",
    Section.PROGRAMS: "Training program",
    Section.SERVICES: "Emergency service",
}


@dataclass(frozen=True, slots=True)
class Entry:
    title: str
    kind: str
    division: Division
    summary: str
    url: str
    title_words: frozenset[str]
    text_words: frozenset[str]


@dataclass(frozen=True, slots=True)
class Outcome:
    query: str
    results: tuple[Entry, ...]
    problem: QueryProblem | None = None


def _fold(text: str) -> str:
    # NFKC folds full-width and compatibility forms; casefold handles ß and friends.
    return unicodedata.normalize("NFKC", text).casefold()


def _words(*texts: str) -> frozenset[str]:
    return frozenset(word for text in texts for word in _WORD.findall(_fold(text)))


def _division_entry(division: Division) -> Entry:
    return Entry(
        title=division.name,
        kind="Division",
        division=division,
        summary=division.purpose,
        url=division.get_absolute_url(),
        title_words=_words(division.name, division.acronym, *division.aliases),
        text_words=_words(
            division.tagline,
            division.purpose,
            *division.about,
            *(f"{fact.label} {fact.value}" for fact in division.facts),
        ),
    )


def _item_entry(division: Division, section: Section, item: Item) -> Entry:
    return Entry(
        title=item.title,
        kind=_KIND[section],
        division=division,
        summary=item.summary,
        url=division.item_url(item),
        title_words=_words(item.title),
        text_words=_words(item.summary, item.detail, division.name, division.acronym),
    )


@cache
def index() -> tuple[Entry, ...]:
    """Built on first use, not at import: entry URLs need the URLconf, which imports us."""
    entries: list[Entry] = []
    for division in DIVISIONS:
        entries.append(_division_entry(division))
        for section, items in division.sections():
            entries.extend(_item_entry(division, section, item) for item in items)
    return tuple(entries)


def _variants(term: str) -> tuple[str, ...]:
    # A light plural fold so "troops" finds "troop" and "shelters" finds "shelter".
    if len(term) > 3 and term.endswith("s"):
        return (term, term[:-1])
    return (term,)


def _matches(term: str, words: frozenset[str]) -> bool:
    return any(word.startswith(variant) for variant in _variants(term) for word in words)


def _score(entry: Entry, terms: list[str]) -> int | None:
    """Rank of an entry for the terms, or None when some term matches nowhere."""
    score = 0
    for term in terms:
        if _matches(term, entry.title_words):
            score += 10
        elif _matches(term, entry.text_words):
            score += 1
        else:
            return None
    return score


def search(raw_query: str) -> Outcome:
    query = " ".join(raw_query.split())
    if not query:
        return Outcome(query="", results=(), problem=QueryProblem.EMPTY)
    if len(query) > MAX_QUERY_LENGTH:
        return Outcome(query=query, results=(), problem=QueryProblem.TOO_LONG)
    terms = list(dict.fromkeys(_WORD.findall(_fold(query))))
    if not terms:
        return Outcome(query=query, results=(), problem=QueryProblem.NO_WORDS)
    if len(terms) > MAX_TERMS:
        return Outcome(query=query, results=(), problem=QueryProblem.TOO_MANY_WORDS)
    scored = [
        (score, position, entry)
        for position, entry in enumerate(index())
        if (score := _score(entry, terms)) is not None
    ]
    # Best score first; equal scores keep the site's own order (division, then its sections).
    scored.sort(key=lambda row: (-row[0], row[1]))
    return Outcome(query=query, results=tuple(entry for _, _, entry in scored))
