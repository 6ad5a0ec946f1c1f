"""Small factories for the units and assignments tests (no reference data needed).

Incidents are made directly (the calls engineer's services make them in production); the
units tests only need an open incident with a PSAP, a nature code and a place.
"""

from datetime import datetime
from itertools import count
from typing import Any

from django.utils import timezone

from despp.core.models import Agency, AgencyKind
from despp.dispatch.models import (
    Discipline,
    Incident,
    IncidentSource,
    IncidentStatus,
    NatureCode,
    Priority,
    Station,
    Unit,
    UnitKind,
)

_numbers = count(1)

NATURES: dict[str, tuple[str, Discipline, Priority]] = {
    "FSTRU": ("FIRE STRUCTURE", Discipline.FIRE, Priority.IMMEDIATE),
    "MVAINJY": ("MVA INJY", Discipline.EMS, Priority.URGENT),
    "DVA": ("DOMESTIC VIOLENT", Discipline.POLICE, Priority.URGENT),
    "CARDIAC": ("CARDIAC", Discipline.EMS, Priority.IMMEDIATE),
    "BURGLARY": ("BURGLARY", Discipline.POLICE, Priority.PROMPT),
    "ADMIN": ("ADMINISTRATIVE", Discipline.POLICE, Priority.SCHEDULED),
}


def nature(code: str = "DVA") -> NatureCode:
    label, discipline, priority = NATURES[code]
    found, _ = NatureCode.objects.get_or_create(
        code=code,
        defaults={"label": label, "discipline": discipline, "default_priority": priority},
    )
    return found


def agency(code: str, kind: AgencyKind = AgencyKind.FIRE_DEPARTMENT, **extra: Any) -> Agency:
    found, _ = Agency.objects.get_or_create(
        code=code, defaults={"name": code.replace("-", " ").title(), "kind": kind, **extra}
    )
    return found


def incident(
    psap: Agency,
    *,
    code: str = "DVA",
    lat: float = 41.8786,
    lon: float = -72.3648,
    scheduled_for: datetime | None = None,
    status: IncidentStatus = IncidentStatus.PENDING,
    **extra: Any,
) -> Incident:
    found = nature(code)
    now = timezone.now()
    return Incident.objects.create(
        psap=psap,
        year=now.year,
        number=next(_numbers),
        nature=found,
        priority=found.default_priority,
        source=IncidentSource.SCHEDULED if scheduled_for else IncidentSource.CALL,
        status=status,
        lat=lat,
        lon=lon,
        scheduled_for=scheduled_for,
        created_at=now,
        **extra,
    )


def unit(
    call_sign: str,
    owner: Agency,
    *,
    kind: UnitKind = UnitKind.TROOP_CAR,
    lat: float | None = 41.88,
    lon: float | None = -72.36,
    capabilities: list[str] | None = None,
    station: Station | None = None,
    **extra: Any,
) -> Unit:
    return Unit.objects.create(
        call_sign=call_sign,
        kind=kind,
        agency=owner,
        lat=lat,
        lon=lon,
        position_at=timezone.now() if lat is not None else None,
        capabilities=capabilities or [],
        home_station=station,
        **extra,
    )
