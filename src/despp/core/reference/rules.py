"""How the platform answers each town's jurisdiction questions, and how it says how it knows.

Pure functions over the parsed dataset: nothing here touches the database, so the loader, the
administrators' correction service and the locate benchmark all apply the same rules.

Every answer is a `Fact`: a value, its provenance and a one-sentence basis.

* Policing comes from the 2013 DESPP UCR table (S6): `sourced`; Andover, which the table lists
  without a PD or CSP suffix, is `inferred` State Police (the dataset's reasoning is kept).
  Split towns (Putnam, Windham) have their own department as primary police agency; their
  troop is recorded as for any other town.
* Troop: a troop a source names is `sourced`. Otherwise the troop whose barracks town's
  centroid is nearest the town's centroid, `inferred` (Troop W, the Bradley airport troop, is
  not a patrol troop and never inferred). Where a source names alternatives ("B or L") the
  nearer of those is taken. The dataset's own `troop_inferred_candidate` is only a hint: it is
  stored beside the answer and the basis says whether the nearest barracks agrees with it; it
  never decides. Every town gets a troop (towns with their own department lie in a troop's
  area too, for highways and backup).
* Police agency follows from policing and troop: the town's own department, or its troop.
* PSAP: a PSAP the sources say serves the town is `sourced`; so is a troop's district dispatch
  center when the source that names the town's troop also reports that troop's dispatch move
  (the 2013 Troop K letter, P03). Otherwise a `derived` default: the town's own police
  department's dispatch where it has one, else its troop's district dispatch center.
* A troop's district dispatch center: the consolidated center of the district the sources tie
  the troop to (`sourced`); for troops tied to no district, the consolidated center nearest
  the troop's barracks (`derived`).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.text import slugify

from despp.core.models import AgencyKind, Policing, Provenance
from despp.core.reference.dataset import (
    Dataset,
    PolicingRow,
    ReferenceDataError,
    TownRow,
    TroopRow,
)
from despp.core.reference.facts import (
    OWN_DEPARTMENT,
    Fact,
    TroopDispatch,
    haversine_km,
    own_pd_code,
    own_pd_psap_code,
    sources_of,
    troop_agency_code,
)

NON_PATROL_TROOPS = frozenset({"W"})  # Troop W polices Bradley International Airport (P22)


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    kind: AgencyKind
    parent: str  # agency code, "" for none
    town: str  # town name, "" for none
    provenance: Provenance
    sources: str
    notes: str


@dataclass(frozen=True)
class TroopSpec:
    row: TroopRow
    agency_code: str
    agency_name: str
    dispatch: TroopDispatch


@dataclass(frozen=True)
class TownSpec:
    row: TownRow
    policing_row: PolicingRow
    policing: Fact
    troop: Fact
    own_pd: str  # agency code of the town's own (primary) department, "" for none
    own_pd_psap: str
    sourced_psap: Fact | None


@dataclass(frozen=True)
class Plan:
    counties: dict[str, str]  # fips -> name
    agencies: tuple[AgencySpec, ...]  # every parent before its children
    troops: dict[str, TroopSpec]
    towns: tuple[TownSpec, ...]

    def agency_names(self) -> dict[str, str]:
        return {agency.code: agency.name for agency in self.agencies}


# ---- the plan -------------------------------------------------------------------------------


def _decide_policing(row: PolicingRow) -> Fact:
    labels = ", ".join(f"'{label}'" for label in row.ucr_labels) or "no agency"
    if row.primary_policing == "state_police_inferred":
        return Fact(
            Policing.STATE_POLICE,
            Provenance.INFERRED,
            f"Inferred: the 2013 DESPP UCR table (S6) lists {labels} with no PD or CSP suffix. "
            + row.notes,
        )
    if row.primary_policing == Policing.SPLIT:
        return Fact(
            Policing.SPLIT,
            Provenance.SOURCED,
            f"Sourced (S6): the 2013 DESPP UCR table lists {labels}: a municipal department and "
            "the State Police. The town's own department is taken as primary police agency.",
        )
    return Fact(
        Policing(row.primary_policing),
        Provenance.SOURCED,
        f"Sourced (S6): the 2013 DESPP UCR table lists {labels} for this town.",
    )


def _nearest_barracks(
    town: TownRow, troops: Mapping[str, TroopRow], dataset: Dataset, allowed: set[str]
) -> list[tuple[float, str]]:
    found = []
    for code in allowed:
        barracks = dataset.by_name[troops[code].barracks_town]
        distance = haversine_km(
            town.centroid_lat, town.centroid_lon, barracks.centroid_lat, barracks.centroid_lon
        )
        found.append((distance, code))
    return sorted(found)  # ties: the lower troop letter


def _decide_troop(town: TownRow, row: PolicingRow, dataset: Dataset) -> Fact:
    troops = dataset.troops
    named = [part.strip() for part in row.csp_troop.split(" or ") if part.strip()]
    unknown = [code for code in named if code not in troops]
    if unknown:
        raise ReferenceDataError(
            "town_policing.csv", f"{town.name}: unknown troop {unknown[0]!r}", column="csp_troop"
        )
    if len(named) == 1:
        return Fact(
            named[0],
            Provenance.SOURCED,
            f"Sourced ({row.troop_sources or 'no id'}; confidence "
            f"{row.troop_confidence or 'not given'}): a source names Troop {named[0]}.",
        )
    allowed = set(named) if named else set(troops) - NON_PATROL_TROOPS
    ranked = _nearest_barracks(town, troops, dataset, allowed)
    distance, code = ranked[0]
    barracks = troops[code].barracks_town
    if named:
        basis = (
            f"Inferred: sources name Troop {' or Troop '.join(named)} "
            f"({row.troop_sources}); Troop {code}'s barracks ({barracks}) is the nearer, "
            f"{distance:.1f} km from the town centroid."
        )
    else:
        basis = (
            "Inferred: no source names this town's troop; Troop "
            f"{code}'s barracks ({barracks}) is the nearest, {distance:.1f} km from the town "
            "centroid"
        )
        if len(ranked) > 1:
            basis += f" (next: Troop {ranked[1][1]}, {ranked[1][0]:.1f} km)"
        basis += "."
    if row.troop_candidate:
        agrees = "agrees" if row.troop_candidate == code else "disagrees; kept only as a hint"
        basis += f" The dataset's unconfirmed candidate, Troop {row.troop_candidate}, {agrees}."
    return Fact(code, Provenance.INFERRED, basis)


def _department_name(label: str) -> str:
    place = label.removesuffix(" PD").replace(" Pt.", " Point")
    return f"{place} Police Department"


def _police_departments(dataset: Dataset) -> tuple[list[AgencySpec], dict[str, str]]:
    """Municipal departments from the UCR labels; returns (agencies, town -> primary code)."""
    agencies: list[AgencySpec] = []
    primary: dict[str, str] = {}
    for town in dataset.towns:
        row = dataset.policing[town.name]
        if row.primary_policing not in OWN_DEPARTMENT:
            continue
        labels = [label for label in row.ucr_labels if label.endswith(" PD")]
        own = [label for label in labels if label[:-3] in {town.name, f"{town.name} Town"}]
        main = own or labels  # a single differently named department (Willimantic) is its own
        if len(main) != 1:
            raise ReferenceDataError(
                "town_policing.csv",
                f"{town.name}: cannot tell the town's own department among {labels}",
                column="ucr_2013_agency_columns",
            )
        for label in labels:
            name = _department_name(label)
            code = (
                own_pd_code(town.name)
                if label == main[0]
                else f"pd-{slugify(name.removesuffix(' Police Department'))}"
            )
            agencies.append(
                AgencySpec(
                    code=code,
                    name=name,
                    kind=AgencyKind.MUNICIPAL_POLICE,
                    parent="",
                    town=town.name,
                    provenance=Provenance.SOURCED,
                    sources="S6",
                    notes=f"2013 DESPP UCR column '{label}'",
                )
            )
        primary[town.name] = own_pd_code(town.name)
    return agencies, primary


def _listed_agencies(dataset: Dataset) -> list[AgencySpec]:
    specs = []
    for row in dataset.agencies:
        psap = dataset.psaps.get(row.source_psap_name) if row.source_psap_name else None
        notes = row.notes
        if psap is not None:
            notes = "; ".join(
                part
                for part in (f"serves: {psap.serves}", f"as of {psap.as_of}", psap.notes, notes)
                if part and part != "as of "
            )
        specs.append(
            AgencySpec(
                code=row.code,
                name=row.name,
                kind=AgencyKind(row.kind),
                parent=row.parent,
                town=row.town,
                provenance=Provenance.SOURCED,
                sources=row.sources,
                notes=notes,
            )
        )
    return specs


def _troop_dispatch(troop: TroopRow, dataset: Dataset) -> TroopDispatch:
    centers = {
        row.serves.removeprefix("district:"): row
        for row in dataset.agencies
        if row.serves.startswith("district:")
    }
    district = troop.district.split(" ")[0] if troop.district else ""
    if district in centers:
        center = centers[district]
        return TroopDispatch(
            center=center.code,
            center_name=center.name,
            provenance=Provenance.SOURCED,
            basis=f"Sourced ({troop.sources}): Troop {troop.code} is in the {district} district; "
            f"{troop.dispatch_note or 'its district center dispatches it'}.",
            sources=sources_of(center.sources),
        )
    barracks = dataset.by_name[troop.barracks_town]
    ranked = sorted(
        (
            haversine_km(
                barracks.centroid_lat,
                barracks.centroid_lon,
                dataset.by_name[row.town].centroid_lat,
                dataset.by_name[row.town].centroid_lon,
            ),
            row.code,
            row,
        )
        for row in centers.values()
        if row.town
    )
    if not ranked:
        raise ReferenceDataError("agencies.csv", "no district dispatch center has a town")
    distance, _, center = ranked[0]
    return TroopDispatch(
        center=center.code,
        center_name=center.name,
        provenance=Provenance.DERIVED,
        basis=f"Derived: no source ties Troop {troop.code} to a district; the consolidated "
        f"State Police dispatch center nearest its barracks ({troop.barracks_town}) is "
        f"{center.name}, {distance:.1f} km.",
        sources=sources_of(center.sources),
    )


def _derived_psaps(
    departments: list[AgencySpec], primary: dict[str, str], listed: set[str]
) -> list[AgencySpec]:
    names = {agency.code: agency.name for agency in departments}
    specs = []
    for town, pd in primary.items():
        code = own_pd_psap_code(town)
        if code in listed:  # a source already names this dispatch (Berlin)
            continue
        specs.append(
            AgencySpec(
                code=code,
                name=f"{names[pd]} dispatch",
                kind=AgencyKind.PSAP,
                parent=pd,
                town=town,
                provenance=Provenance.DERIVED,
                sources="",
                notes="Assumed 911 answering point: no source found lists this town's PSAP, "
                "so its police department's dispatch is the default.",
            )
        )
    return specs


def _parents_first(specs: list[AgencySpec]) -> tuple[AgencySpec, ...]:
    by_code = {spec.code: spec for spec in specs}
    if len(by_code) != len(specs):
        raise ReferenceDataError("agencies.csv", "an agency code is used twice")
    ordered: list[AgencySpec] = []
    placed: set[str] = set()

    def place(spec: AgencySpec, chain: tuple[str, ...]) -> None:
        if spec.code in placed:
            return
        if spec.code in chain:
            raise ReferenceDataError("agencies.csv", f"parent cycle at {spec.code!r}")
        if spec.parent:
            if spec.parent not in by_code:
                raise ReferenceDataError("agencies.csv", f"unknown parent {spec.parent!r}")
            place(by_code[spec.parent], (*chain, spec.code))
        ordered.append(spec)
        placed.add(spec.code)

    for spec in specs:
        place(spec, ())
    return tuple(ordered)


def build_plan(dataset: Dataset) -> Plan:
    listed = _listed_agencies(dataset)
    departments, primary = _police_departments(dataset)
    troops: dict[str, TroopSpec] = {}
    troop_agencies = []
    for code, row in sorted(dataset.troops.items()):
        place = row.barracks_locality or row.barracks_town
        spec = TroopSpec(
            row=row,
            agency_code=troop_agency_code(code),
            agency_name=f"State Police Troop {code} ({place})",
            dispatch=_troop_dispatch(row, dataset),
        )
        troops[code] = spec
        troop_agencies.append(
            AgencySpec(
                code=spec.agency_code,
                name=spec.agency_name,
                kind=AgencyKind.TROOP,
                parent="csp",
                town=row.barracks_town,
                provenance=Provenance.SOURCED,
                sources=row.sources,
                notes=row.notes,
            )
        )
    listed_codes = {spec.code for spec in listed}
    agencies = _parents_first(
        listed + troop_agencies + departments + _derived_psaps(departments, primary, listed_codes)
    )
    sourced_psaps = {
        row.town: Fact(
            row.code,
            Provenance.SOURCED,
            f"Sourced ({row.sources}): {row.name} ({dataset.psaps[row.source_psap_name].serves}).",
        )
        for row in dataset.agencies
        if row.serves == "town"
    }
    towns = tuple(
        TownSpec(
            row=town,
            policing_row=dataset.policing[town.name],
            policing=_decide_policing(dataset.policing[town.name]),
            troop=_decide_troop(town, dataset.policing[town.name], dataset),
            own_pd=primary.get(town.name, ""),
            own_pd_psap=own_pd_psap_code(town.name) if town.name in primary else "",
            sourced_psap=sourced_psaps.get(town.name),
        )
        for town in dataset.towns
    )
    return Plan(
        counties={town.county_fips: town.county for town in dataset.towns},
        agencies=agencies,
        troops=troops,
        towns=towns,
    )
