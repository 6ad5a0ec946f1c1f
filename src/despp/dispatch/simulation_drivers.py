"""How `despp simulate` acts on the floor: through the services in this process, or through
the HTTP API of a running server (as a CAD client would). See simulation.py."""

import random
from typing import Any

import httpx
from django.core.exceptions import ValidationError
from django.db.models import Q

from despp.core.errors import Conflict
from despp.core.models import Agency, Town, User
from despp.dispatch.models import Assignment, DispositionCode, Incident, NatureCode, Unit
from despp.dispatch.models.units import UNIT_DISCIPLINE
from despp.dispatch.simulation import (
    DISPOSITIONS,
    NATURE_MIX,
    CallSpec,
    DriverRefused,
    TownArea,
    UnitInfo,
)
from despp.dispatch.states import InvalidTransition

_REFUSALS = (Conflict, ValidationError, InvalidTransition)


def towns(psap: Agency | None = None) -> list[TownArea]:
    """The towns calls fall on: all of Connecticut, or those the PSAP serves."""
    rows = Town.objects.order_by("name")
    if psap is not None:
        rows = rows.filter(psap=psap)
    return [TownArea(t.name, t.population, t.boundary) for t in rows]


def natures() -> list[tuple[str, str, float, str]]:
    """NATURE_MIX restricted to the active codes loaded, with each code's discipline."""
    known = dict(
        NatureCode.objects.filter(
            active=True, code__in=[code for code, _, _ in NATURE_MIX]
        ).values_list("code", "discipline")
    )
    return [(code, known[code], weight, text) for code, weight, text in NATURE_MIX if code in known]


def disposition_codes() -> dict[str, str]:
    """discipline -> the disposition code the simulation closes its incidents with."""
    active = set(DispositionCode.objects.filter(active=True).values_list("code", flat=True))
    fallback = sorted(active)[0] if active else ""
    return {
        discipline: next((code for code in wanted if code in active), fallback)
        for discipline, wanted in DISPOSITIONS.items()
    }


def _caller(rng: random.Random) -> tuple[str, str, int]:
    """(callback number, class of service, uncertainty in metres) of a plausible caller."""
    area = rng.choice(("860", "203", "475", "959"))
    number = f"{area}555{rng.randrange(10000):04d}"
    kind = rng.choices(("wireless", "wireline", "voip", "text"), (75, 15, 8, 2))[0]
    return number, kind, 10 if kind == "wireline" else rng.choice((8, 15, 30, 50, 120))


class ServicesDriver:
    """Acts through dispatch.services in this process, as `user`."""

    def __init__(self, user: User, *, run_id: str, seed: int, agencies: list[int] | None) -> None:
        self.user = user
        self.run_id = run_id
        self.rng = random.Random(seed + 1)  # noqa: S311 - reproducible callers, not secrets
        self.agencies = agencies
        self._units: dict[int, Unit] = {}
        self._dispositions = disposition_codes()

    def units(self) -> list[UnitInfo]:
        rows = Unit.objects.filter(in_service=True).select_related("home_station").order_by("id")
        if self.agencies is not None:
            rows = rows.filter(agency_id__in=self.agencies)
        found = []
        for unit in rows:
            home = unit.home_station
            here = (unit.lat, unit.lon) if unit.lat is not None and unit.lon is not None else None
            home_at = (home.lat, home.lon) if home is not None else here
            if home_at is None:
                continue  # nowhere to drive from
            now_at = here or home_at
            self._units[unit.pk] = unit
            discipline = str(UNIT_DISCIPLINE.get(unit.kind, "police"))
            found.append(UnitInfo(unit.pk, unit.call_sign, discipline, *home_at, *now_at))
        return found

    def call(self, spec: CallSpec) -> int | None:
        from despp.dispatch import services

        number, kind, uncertainty = _caller(self.rng)
        try:
            intake = services.intake_call(
                psap=None,
                callback_number=number,
                class_of_service=kind,
                lat=spec.lat,
                lon=spec.lon,
                uncertainty_m=uncertainty,
                civic_address="",
                location_text="",
                place_id=None,
                town=None,
                received_at=None,
                answered_at=None,
                call_taker=self.user,
                source_ref=f"{self.run_id}-{spec.number}",
                description=spec.description,
                request=None,
                nature=spec.nature,
            )
            incident = intake.incident
            if incident is None and intake.duplicates:
                incident = services.attach_call(
                    intake.call, intake.duplicates[0].incident, self.user
                )
            services.answer_call(intake.call, self.user)
            services.release_call(intake.call, self.user)
        except _REFUSALS as exc:
            raise DriverRefused(str(exc)) from exc
        return incident.pk if incident is not None else None

    def recommend(self, incident_id: int) -> list[int]:
        from despp.dispatch.recommend import recommend

        picks = recommend(Incident.objects.get(pk=incident_id)).picks
        return [pick.unit_id for pick in picks if not pick.already_assigned]

    def dispatch(self, incident_id: int, unit_ids: list[int]) -> dict[int, int]:
        from despp.dispatch import services

        incident = Incident.objects.get(pk=incident_id)
        units = list(Unit.objects.filter(pk__in=unit_ids))
        try:
            made = services.dispatch_units(incident, units, self.user, recommended_ids=unit_ids)
        except _REFUSALS as exc:
            raise DriverRefused(str(exc)) from exc
        return {assignment.unit_id: assignment.pk for assignment in made}

    def status(self, assignment_id: int, status: str) -> None:
        from despp.dispatch import services

        try:
            services.change_status(Assignment.objects.get(pk=assignment_id), status, self.user)
        except _REFUSALS as exc:
            raise DriverRefused(str(exc)) from exc

    def position(self, unit_id: int, lat: float, lon: float) -> None:
        from despp.dispatch import services

        unit = self._units.get(unit_id) or Unit.objects.get(pk=unit_id)
        try:
            services.report_position(unit, lat, lon, self.user)
        except _REFUSALS as exc:
            raise DriverRefused(str(exc)) from exc

    def close(self, incident_id: int, discipline: str) -> None:
        from despp.dispatch import services

        code = self._dispositions.get(discipline) or next(iter(self._dispositions.values()))
        try:
            services.close_incident(Incident.objects.get(pk=incident_id), code, self.user)
        except _REFUSALS as exc:
            raise DriverRefused(str(exc)) from exc


class HttpDriver:
    """Acts through the JSON API of a running server with a token, as a CAD client would."""

    def __init__(
        self, client: httpx.Client, *, run_id: str, seed: int, dispositions: dict[str, str]
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.rng = random.Random(seed + 1)  # noqa: S311 - reproducible callers, not secrets
        self._dispositions = dispositions

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = self.client.post(f"/api/dispatch{path}", json=body)
        except httpx.TransportError as exc:
            raise DriverRefused(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", "")
            except ValueError:
                detail = response.text[:80]
            raise DriverRefused(f"{response.status_code} {path}: {detail}")
        return response.json()

    def units(self) -> list[UnitInfo]:
        response = self.client.get("/api/dispatch/units")
        response.raise_for_status()
        found = []
        for unit in response.json():
            if not unit["in_service"] or unit["lat"] is None:
                continue
            discipline = str(UNIT_DISCIPLINE.get(unit["kind"], "police"))
            at = (unit["lat"], unit["lon"])
            found.append(UnitInfo(unit["id"], unit["call_sign"], discipline, *at, *at))
        return found

    def call(self, spec: CallSpec) -> int | None:
        number, kind, uncertainty = _caller(self.rng)
        answer = self._post(
            "/calls",
            {
                "source_ref": f"{self.run_id}-{spec.number}",
                "callback_number": number,
                "class_of_service": kind,
                "lat": spec.lat,
                "lon": spec.lon,
                "uncertainty_m": uncertainty,
                "description": spec.description,
                "nature": spec.nature,
            },
        )
        call_id = answer["call"]["id"]
        incident = answer["incident"]["id"] if answer.get("incident") else None
        if incident is None and answer.get("duplicates"):
            incident = answer["duplicates"][0]["incident"]["id"]
            self._post(f"/calls/{call_id}/attach", {"incident": incident})
        self._post(f"/calls/{call_id}/answer", {})
        self._post(f"/calls/{call_id}/release", {})
        return int(incident) if incident is not None else None

    def recommend(self, incident_id: int) -> list[int]:
        response = self.client.get(f"/api/dispatch/incidents/{incident_id}/recommendation")
        if response.status_code != 200:
            raise DriverRefused(f"{response.status_code} recommendation {incident_id}")
        return [int(unit) for unit in response.json()["unit_ids"]]

    def dispatch(self, incident_id: int, unit_ids: list[int]) -> dict[int, int]:
        made = self._post(
            f"/incidents/{incident_id}/dispatch", {"units": unit_ids, "recommended": unit_ids}
        )
        return {int(row["unit"]): int(row["id"]) for row in made}

    def status(self, assignment_id: int, status: str) -> None:
        self._post(f"/assignments/{assignment_id}/status", {"status": status})

    def position(self, unit_id: int, lat: float, lon: float) -> None:
        self._post(f"/units/{unit_id}/position", {"lat": lat, "lon": lon})

    def close(self, incident_id: int, discipline: str) -> None:
        code = self._dispositions.get(discipline, "ADV")
        self._post(f"/incidents/{incident_id}/close", {"disposition": code})


def psap_agencies(psap: Agency) -> list[int]:
    """Agencies whose units a PSAP's simulation moves: those policing or stationed in its
    towns (its own troop cars, municipal police, fire and EMS)."""
    served = Town.objects.filter(psap=psap)
    return list(
        Agency.objects.filter(
            Q(policed_towns__in=served) | Q(stations__town__in=served) | Q(pk=psap.pk)
        )
        .distinct()
        .values_list("pk", flat=True)
    )
