"""Hand-made calls, incidents and unit responses with exact stamps, for the interval,
compliance and EIDO tests (direct ORM rows: these tests are about reading stamps, not about how
the intake services write them)."""

import itertools
from datetime import datetime, timedelta
from typing import Any

from despp.core.models import Agency, User
from despp.dispatch.models import (
    Assignment,
    AssignmentStatus,
    Call,
    CallStatus,
    ClassOfService,
    Discipline,
    Incident,
    IncidentSource,
    IncidentStatus,
    NatureCode,
    Unit,
    UnitKind,
)

_numbers = itertools.count(1)
_units = itertools.count(1)


def nature(
    code: str = "MEDICAL", discipline: Discipline = Discipline.EMS, priority: int = 1
) -> NatureCode:
    found, _ = NatureCode.objects.get_or_create(
        code=code,
        defaults={"label": code.title(), "discipline": discipline, "default_priority": priority},
    )
    return found


def later(start: datetime, seconds: float | None) -> datetime | None:
    return None if seconds is None else start + timedelta(seconds=seconds)


def make_call(
    psap: Agency,
    received: datetime,
    *,
    answer_s: float | None = None,
    transfer_s: float | None = None,
    release_s: float | None = None,
    status: CallStatus | None = None,
    class_of_service: ClassOfService = ClassOfService.WIRELESS,
    incident: Incident | None = None,
    **extra: Any,
) -> Call:
    answered = later(received, answer_s)
    if status is None:
        status = CallStatus.ANSWERED if answered else CallStatus.ABANDONED
    return Call.objects.create(
        psap=psap,
        received_at=received,
        answered_at=answered,
        transferred_at=later(answered, transfer_s) if answered else None,
        released_at=later(answered, release_s) if answered else None,
        status=status,
        class_of_service=class_of_service,
        incident=incident,
        callback_number="8605550100",
        **extra,
    )


def make_incident(
    psap: Agency,
    created: datetime,
    *,
    code: str = "MEDICAL",
    discipline: Discipline = Discipline.EMS,
    priority: int = 1,
    notified_s: float | None = None,
    en_route_s: float | None = None,
    on_scene_s: float | None = None,
    status: IncidentStatus = IncidentStatus.ACTIVE,
    source: IncidentSource = IncidentSource.CALL,
    **extra: Any,
) -> Incident:
    return Incident.objects.create(
        psap=psap,
        year=created.year,
        number=next(_numbers),
        nature=nature(code, discipline, priority),
        priority=priority,
        source=source,
        status=status,
        created_at=created,
        first_notified_at=later(created, notified_s),
        first_en_route_at=later(created, en_route_s),
        first_on_scene_at=later(created, on_scene_s),
        **extra,
    )


def make_unit(agency: Agency, kind: UnitKind = UnitKind.ALS, call_sign: str = "") -> Unit:
    return Unit.objects.create(
        call_sign=call_sign or f"U{next(_units):04d}", kind=kind, agency=agency
    )


def make_assignment(
    unit: Unit,
    incident: Incident,
    user: User,
    dispatched: datetime,
    *,
    en_route_s: float | None = None,
    on_scene_s: float | None = None,
) -> Assignment:
    """A finished response (cleared), so a unit can appear on many incidents in one test."""
    return Assignment.objects.create(
        unit=unit,
        incident=incident,
        status=AssignmentStatus.CLEARED,
        status_at=dispatched,
        dispatched_at=dispatched,
        en_route_at=later(dispatched, en_route_s),
        on_scene_at=later(dispatched, on_scene_s),
        cleared_at=dispatched + timedelta(hours=1),
        assigned_by=user,
    )
