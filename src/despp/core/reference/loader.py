"""Write a reference dataset into the database: idempotent, and never over an administrator.

Running the loader twice leaves the same rows (matched on natural keys: county FIPS, agency
code, troop letter, town 2020 FIPS) and the second run writes nothing. A town fact whose
provenance is `override` keeps its value, provenance and basis; facts that follow from it
(police agency, a derived PSAP) are worked out from the overridden value. Agencies and troops
that are no longer in the dataset are left alone (other records may point at them).
"""

import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

from despp.core import eventlog
from despp.core.models import Agency, County, Provenance, ReferenceState, Town, Troop
from despp.core.reference.dataset import DEFAULT_DATASET, read_dataset
from despp.core.reference.facts import (
    Fact,
    TroopDispatch,
    derive_police_agency,
    derive_psap,
    sources_of,
)
from despp.core.reference.rules import Plan, TownSpec, build_plan

REFERENCE_STREAM = "reference"
_TOWN_SOURCES = "S1;S2;S3;S4;S6"

M = TypeVar("M", bound=models.Model)


@dataclass
class LoadReport:
    dataset: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    overrides_kept: int = 0
    provenance: Counter[str] = field(default_factory=Counter)  # "troop inferred" -> n
    revision: int = 0

    @property
    def changed(self) -> bool:
        return bool(sum(self.created.values()) + sum(self.updated.values()))


def _sync(
    model: type[M],
    key: str,
    wanted: Mapping[Any, dict[str, Any]],
    report: LoadReport | None,
    label: str,
) -> dict[Any, M]:
    """Create missing rows and update changed fields, in bulk; returns key -> row."""
    rows: dict[Any, M] = {
        getattr(row, key): row
        for row in model._default_manager.filter(**{f"{key}__in": list(wanted)})
    }
    created: list[M] = []
    updated: list[M] = []
    changed_fields: set[str] = set()
    for natural_key, values in wanted.items():
        row = rows.get(natural_key)
        if row is None:
            row = model(**{key: natural_key}, **values)
            created.append(row)
            rows[natural_key] = row
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        if changed:
            for name in changed:
                setattr(row, name, values[name])
            updated.append(row)
            changed_fields.update(changed)
    model._default_manager.bulk_create(created)
    if updated:
        model._default_manager.bulk_update(updated, sorted(changed_fields))
    if report is not None:
        report.created[label] += len(created)
        report.updated[label] += len(updated)
        report.total[label] = len(wanted)
    return rows


def _sync_agencies(
    plan: Plan, town_ids: Mapping[str, int], report: LoadReport | None
) -> dict[str, Agency]:
    agencies: dict[str, Agency] = {}
    depth: dict[str, int] = {}
    for spec in plan.agencies:  # parents come first, so each level can be written in bulk
        depth[spec.code] = depth[spec.parent] + 1 if spec.parent else 0
    for level in range(max(depth.values()) + 1):
        wanted = {
            spec.code: {
                "name": spec.name,
                "kind": spec.kind,
                "parent_id": agencies[spec.parent].pk if spec.parent else None,
                "town_id": town_ids.get(spec.town),
                "provenance": spec.provenance,
                "sources": spec.sources,
                "notes": spec.notes,
            }
            for spec in plan.agencies
            if depth[spec.code] == level
        }
        agencies.update(_sync(Agency, "code", wanted, report, "agencies"))
    if report is not None:
        report.total["agencies"] = len(plan.agencies)
    return agencies


def _sync_troops(
    plan: Plan, agencies: Mapping[str, Agency], town_ids: Mapping[str, int], report: LoadReport
) -> dict[str, Troop]:
    wanted = {
        code: {
            "agency_id": agencies[spec.agency_code].pk,
            "barracks_town_id": town_ids.get(spec.row.barracks_town),
            "barracks_locality": spec.row.barracks_locality,
            "barracks_address": spec.row.barracks_address,
            "district": spec.row.district,
            "dispatch_note": spec.row.dispatch_note,
            "dispatch_center_id": agencies[spec.dispatch.center].pk,
            "dispatch_center_provenance": spec.dispatch.provenance,
            "dispatch_center_basis": spec.dispatch.basis,
            "towns_served_count_reported": spec.row.towns_served_count_reported,
            "sources": spec.row.sources,
            "notes": spec.row.notes,
        }
        for code, spec in plan.troops.items()
    }
    return _sync(Troop, "code", wanted, report, "troops")


@dataclass(frozen=True)
class _Written:
    """What the town rows point at, once counties, agencies and troops are written."""

    plan: Plan
    counties: Mapping[str, County]
    agencies: Mapping[str, Agency]
    troops: Mapping[str, Troop]
    agency_code: Mapping[int, str]
    troop_code: Mapping[int, str]
    dispatch: Mapping[str, TroopDispatch]
    names: Mapping[str, str]


def _overridden(existing: Town | None, fact: str) -> bool:
    return existing is not None and getattr(existing, f"{fact}_provenance") == Provenance.OVERRIDE


def _effective_facts(spec: TownSpec, existing: Town | None, written: _Written) -> dict[str, Fact]:
    """The four facts for a town: an administrator's override, else the rules' answer."""
    facts: dict[str, Fact] = {}
    if existing is not None and _overridden(existing, "policing"):
        facts["policing"] = Fact(existing.policing, Provenance.OVERRIDE, existing.policing_basis)
    else:
        facts["policing"] = spec.policing
    if existing is not None and _overridden(existing, "troop"):
        code = written.troop_code.get(existing.troop_id or 0, "")
        facts["troop"] = Fact(code, Provenance.OVERRIDE, existing.troop_basis)
    else:
        facts["troop"] = spec.troop
    if existing is not None and _overridden(existing, "police_agency"):
        code = written.agency_code.get(existing.police_agency_id, "")
        facts["police_agency"] = Fact(code, Provenance.OVERRIDE, existing.police_agency_basis)
    else:
        facts["police_agency"] = derive_police_agency(
            facts["policing"], facts["troop"], spec.own_pd, written.names
        )
    if existing is not None and _overridden(existing, "psap"):
        code = written.agency_code.get(existing.psap_id or 0, "")
        facts["psap"] = Fact(code, Provenance.OVERRIDE, existing.psap_basis)
    else:
        facts["psap"] = derive_psap(
            policing=facts["policing"],
            troop=facts["troop"],
            troop_sources=sources_of(spec.policing_row.troop_sources),
            own_pd_psap=spec.own_pd_psap,
            sourced_psap=spec.sourced_psap,
            dispatch=written.dispatch,
            agency_names=written.names,
        )
    return facts


def _town_values(spec: TownSpec, existing: Town | None, written: _Written) -> dict[str, Any]:
    row, evidence = spec.row, spec.policing_row
    values: dict[str, Any] = {
        "name": row.name,
        "fips_2022": row.fips_2022,
        "county_id": written.counties[row.county_fips].pk,
        "planning_region": row.planning_region,
        "population": row.population,
        "population_year": row.population_year,
        "population_source": row.population_source,
        "land_area_m2": row.land_area_m2,
        "water_area_m2": row.water_area_m2,
        "centroid_lat": row.centroid_lat,
        "centroid_lon": row.centroid_lon,
        "boundary": row.boundary,
        "ucr_2013_agency_columns": evidence.ucr_columns,
        "troop_confidence": evidence.troop_confidence,
        "troop_evidence": evidence.troop_evidence,
        "troop_sources": evidence.troop_sources,
        "troop_candidate": evidence.troop_candidate,
        "troop_candidate_basis": evidence.troop_candidate_basis,
        "resident_trooper_evidence": evidence.resident_trooper_evidence,
        "sources": _TOWN_SOURCES,
        "notes": evidence.notes,
    }
    for name, fact in _effective_facts(spec, existing, written).items():
        if fact.provenance == Provenance.OVERRIDE:
            continue  # never touch what an administrator set
        if name == "policing":
            values["policing"] = fact.value
        elif name == "troop":
            values["troop_id"] = written.troops[fact.value].pk
        else:
            values[f"{name}_id"] = written.agencies[fact.value].pk
        values[f"{name}_provenance"] = fact.provenance
        values[f"{name}_basis"] = fact.basis
    return values


def _geometry_digest(plan: Plan) -> str:
    body = eventlog.canonical_json([[spec.row.fips_2020, spec.row.boundary] for spec in plan.towns])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def bump_revision(*, geometry_digest: str | None = None, dataset: str | None = None) -> int:
    """Mark the reference geography changed, in the caller's transaction; returns the revision."""
    state, _ = ReferenceState.objects.select_for_update().get_or_create(key="geography")
    state.revision += 1
    state.changed_at = timezone.now()
    if geometry_digest is not None:
        state.geometry_digest = geometry_digest
    if dataset is not None:
        state.dataset = dataset
    state.save()
    return state.revision


def load_reference(path: Path = DEFAULT_DATASET, *, record_event: bool = True) -> LoadReport:
    """Load (or reload) the reference dataset in `path`; see the module docstring.

    A load that changes something appends a `reference.loaded` event on the `reference`
    stream; `record_event=False` is for test fixtures that load the data once per session and
    must not leave an event behind in every other test's event log.
    """
    from despp.core import jurisdiction

    plan = build_plan(read_dataset(path))
    report = LoadReport(dataset=path.name)
    with transaction.atomic():
        counties = _sync(
            County,
            "fips",
            {fips: {"name": name} for fips, name in plan.counties.items()},
            report,
            "counties",
        )
        town_ids = dict(Town.objects.values_list("name", "pk"))
        agencies = _sync_agencies(plan, town_ids, report)
        troops = _sync_troops(plan, agencies, town_ids, report)
        written = _Written(
            plan=plan,
            counties=counties,
            agencies=agencies,
            troops=troops,
            agency_code={agency.pk: code for code, agency in agencies.items()},
            troop_code={troop.pk: code for code, troop in troops.items()},
            dispatch={code: spec.dispatch for code, spec in plan.troops.items()},
            names=plan.agency_names(),
        )
        existing = {town.fips_2020: town for town in Town.objects.all()}
        wanted = {
            spec.row.fips_2020: _town_values(spec, existing.get(spec.row.fips_2020), written)
            for spec in plan.towns
        }
        towns = _sync(Town, "fips_2020", wanted, report, "towns")
        if len(town_ids) != len(towns):  # first load: link agencies and barracks to new towns
            town_ids = {town.name: town.pk for town in towns.values()}
            _sync_agencies(plan, town_ids, None)
            _sync_troops(plan, agencies, town_ids, LoadReport(dataset=path.name))
        for town in towns.values():
            for fact in ("policing", "police_agency", "troop", "psap"):
                provenance = getattr(town, f"{fact}_provenance")
                report.provenance[f"{fact} {provenance}"] += 1
                report.overrides_kept += provenance == Provenance.OVERRIDE
        state = ReferenceState.objects.filter(key="geography").first()
        digest = _geometry_digest(plan)
        if report.changed or state is None or state.geometry_digest != digest:
            report.revision = bump_revision(geometry_digest=digest, dataset=str(path))
            if record_event:
                eventlog.append(
                    REFERENCE_STREAM,
                    "reference.loaded",
                    {
                        "dataset": path.name,
                        "revision": report.revision,
                        "created": dict(report.created),
                        "updated": dict(report.updated),
                        "overrides_kept": report.overrides_kept,
                    },
                )
        else:
            report.revision = state.revision
        transaction.on_commit(jurisdiction.invalidate)
    jurisdiction.invalidate()
    return report
