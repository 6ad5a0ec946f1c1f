"""Facts with provenance, and the derivations the loader and the correction service share.

A town's police agency and PSAP follow from its policing and troop; these functions work them
out (see rules.py for the whole set of rules and why), whether the inputs come from the
dataset or from an administrator's correction.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.text import slugify

from despp.core.models import Policing, Provenance

_EARTH_RADIUS_KM = 6371.0088
OWN_DEPARTMENT = frozenset({Policing.MUNICIPAL, Policing.SPLIT})


@dataclass(frozen=True)
class Fact:
    value: str  # a Policing value, a troop code or an agency code; "" for none
    provenance: Provenance
    basis: str


@dataclass(frozen=True)
class TroopDispatch:
    """The dispatch center that answers for a troop's State Police towns."""

    center: str  # agency code
    center_name: str
    provenance: Provenance
    basis: str
    sources: frozenset[str]  # the center's own sources


def town_slug(name: str) -> str:
    return slugify(name)


def own_pd_code(town: str) -> str:
    return f"pd-{town_slug(town)}"


def own_pd_psap_code(town: str) -> str:
    return f"psap-{town_slug(town)}-pd"


def troop_agency_code(troop: str) -> str:
    return f"csp-troop-{troop.lower()}"


def sources_of(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(";") if part.strip())


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _word(provenance: Provenance) -> str:
    return str(provenance.label).split(" (")[0]


def derive_police_agency(
    policing: Fact, troop: Fact, own_pd: str, agency_names: Mapping[str, str]
) -> Fact:
    """The primary police agency that follows from a town's policing and troop."""
    if policing.value in OWN_DEPARTMENT:
        if not own_pd:
            raise ValueError("the town has no police department of its own")
        provenance = (
            Provenance.SOURCED if policing.provenance == Provenance.SOURCED else Provenance.DERIVED
        )
        split = " (primary; the State Police troop is recorded too)"
        return Fact(
            own_pd,
            provenance,
            f"{_word(provenance)}: the town's own department, {agency_names.get(own_pd, own_pd)}"
            f"{split if policing.value == Policing.SPLIT else ''}.",
        )
    if not troop.value:
        raise ValueError("a State Police town needs a troop")
    provenances = {policing.provenance, troop.provenance}
    if provenances == {Provenance.SOURCED}:
        provenance = Provenance.SOURCED
    elif Provenance.INFERRED in provenances:
        provenance = Provenance.INFERRED
    else:
        provenance = Provenance.DERIVED
    return Fact(
        troop_agency_code(troop.value),
        provenance,
        f"{_word(provenance)}: State Police town, policed by its troop, "
        f"Troop {troop.value} (troop {troop.provenance}).",
    )


def derive_psap(
    *,
    policing: Fact,
    troop: Fact,
    troop_sources: frozenset[str],
    own_pd_psap: str,
    sourced_psap: Fact | None,
    dispatch: Mapping[str, TroopDispatch],
    agency_names: Mapping[str, str],
) -> Fact:
    """The 911 answering point for a town (see the module docstring for the order of rules)."""
    if sourced_psap is not None:
        return sourced_psap
    if policing.value in OWN_DEPARTMENT:
        if not own_pd_psap:
            raise ValueError("the town has no police department dispatch of its own")
        return Fact(
            own_pd_psap,
            Provenance.DERIVED,
            "Derived: no source found lists this town's 911 answering point; the default is "
            f"its own police department's dispatch ({agency_names.get(own_pd_psap, own_pd_psap)}).",
        )
    if not troop.value or troop.value not in dispatch:
        raise ValueError("a State Police town needs a troop with a dispatch center")
    center = dispatch[troop.value]
    shared = sorted(troop_sources & center.sources)
    if (
        troop.provenance == Provenance.SOURCED
        and center.provenance == Provenance.SOURCED
        and shared
    ):
        return Fact(
            center.center,
            Provenance.SOURCED,
            f"Sourced ({';'.join(shared)}): the source that places this town in Troop "
            f"{troop.value} also reports that troop's dispatch moved to {center.center_name}.",
        )
    return Fact(
        center.center,
        Provenance.DERIVED,
        "Derived: no source found lists this town's 911 answering point; the default is its "
        f"troop's dispatch center: Troop {troop.value} -> {center.center_name} "
        f"({center.provenance}).",
    )
