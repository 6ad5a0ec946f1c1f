"""Public reads for the hub: which town, police agency, troop and 911 answering point serve a
Connecticut town, from the platform's jurisdiction index (public reference data only)."""

import difflib
from dataclasses import dataclass

from django.db import models

from despp.core.jurisdiction import Jurisdiction, ReferenceNotLoadedError, get_index
from despp.core.models import Policing, Provenance

MAX_TOWN_NAME_LENGTH = 60
MAX_SUGGESTIONS = 8


class LookupProblem(models.TextChoices):
    """Why a lookup gave no answer; the label is the message shown to the person asking."""

    EMPTY = "empty", "Enter the name of a Connecticut town."
    TOO_LONG = "too_long", f"Enter a town name of {MAX_TOWN_NAME_LENGTH} characters or fewer."
    NOT_FOUND = "not_found", "No Connecticut town has that name. Check the spelling."
    UNAVAILABLE = "unavailable", "The lookup is not available right now. Try again later."


# How each answer was obtained, in words for the public (the admin shows each fact's basis).
_PROVENANCE_NOTES: dict[str, str] = {
    Provenance.SOURCED: "Named in a published source.",
    Provenance.INFERRED: "Estimated: no published source names it.",
    Provenance.DERIVED: "Worked out by a rule: no published source names it.",
    Provenance.OVERRIDE: "Set by the department.",
    Provenance.UNKNOWN: "Not known.",
}
_TROOP_INFERRED = "Estimated from the nearest State Police barracks: no published source names it."
_PSAP_DERIVED = (
    "Worked out by a rule (the town's own police dispatch, or else the State Police district "
    "dispatch center): no published source names it."
)
_POLICING: dict[str, str] = {
    Policing.MUNICIPAL: "The town's own police department",
    Policing.STATE_POLICE: "The State Police",
    Policing.SPLIT: "The town's own police department, with the State Police",
}
# A State Police town's agency is its troop, so an estimated agency means an estimated troop.
_AGENCY_INFERRED = (
    "Estimated from the troop with the nearest barracks: no published source names it."
)


@dataclass(frozen=True, slots=True)
class FactLine:
    label: str
    value: str
    note: str


def _note(provenance: str | None, special: dict[str, str] | None = None) -> str:
    key = provenance or Provenance.UNKNOWN
    return (special or {}).get(key) or _PROVENANCE_NOTES.get(key, _PROVENANCE_NOTES["unknown"])


def describe(answer: Jurisdiction) -> tuple[FactLine, ...]:
    """The answer for one town as labelled lines, each saying how it is known."""
    unknown = "Not known"
    return (
        FactLine("County", f"{answer.county} County" if answer.county else unknown, ""),
        FactLine(
            "Who polices the town",
            _POLICING.get(answer.policing or "", unknown),
            _note(answer.policing_provenance),
        ),
        FactLine(
            "Primary police agency",
            answer.police_agency_name or unknown,
            _note(answer.police_agency_provenance, {Provenance.INFERRED: _AGENCY_INFERRED}),
        ),
        FactLine(
            "State Police troop for the area",
            f"Troop {answer.troop}" if answer.troop else unknown,
            _note(answer.troop_provenance, {Provenance.INFERRED: _TROOP_INFERRED}),
        ),
        FactLine(
            "911 answering point",
            answer.psap_name or unknown,
            _note(answer.psap_provenance, {Provenance.DERIVED: _PSAP_DERIVED}),
        ),
    )


@dataclass(frozen=True, slots=True)
class TownLookup:
    query: str
    town: str = ""
    facts: tuple[FactLine, ...] = ()
    suggestions: tuple[str, ...] = ()
    problem: LookupProblem | None = None


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _towns() -> dict[str, Jurisdiction]:
    return {_fold(answer.town): answer for answer in get_index().towns if answer.town}


def town_names() -> tuple[str, ...]:
    """Every town's name, A to Z (raises ReferenceNotLoadedError before the data is loaded)."""
    return tuple(sorted(answer.town for answer in _towns().values() if answer.town))


def _suggest(folded: str, towns: dict[str, Jurisdiction]) -> tuple[str, ...]:
    starting = [key for key in towns if key.startswith(folded)]
    close = difflib.get_close_matches(folded, list(towns), n=MAX_SUGGESTIONS, cutoff=0.75)
    keys = list(dict.fromkeys([*sorted(starting), *close]))[:MAX_SUGGESTIONS]
    return tuple(towns[key].town or "" for key in keys)


def find_town(raw: str) -> TownLookup:
    query = " ".join(raw.split())
    if not query:
        return TownLookup(query="", problem=LookupProblem.EMPTY)
    if len(query) > MAX_TOWN_NAME_LENGTH:
        return TownLookup(query=query, problem=LookupProblem.TOO_LONG)
    try:
        towns = _towns()
    except ReferenceNotLoadedError:
        return TownLookup(query=query, problem=LookupProblem.UNAVAILABLE)
    folded = _fold(query)
    if folded in towns:
        answer = towns[folded]
        return TownLookup(query=query, town=answer.town or "", facts=describe(answer))
    return TownLookup(
        query=query, suggestions=_suggest(folded, towns), problem=LookupProblem.NOT_FOUND
    )
