"""What creating and changing incidents share: cautions near a point, incident numbers, the
insert of an incident with its incident.created event, and locking incidents in one order.

Numbers: `IncidentCounter` holds the last number a PSAP issued in a year (the year of the
incident's entry in DESPP_TIME_ZONE); see next_incident_number.
"""

import math
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit
from despp.core.errors import Conflict
from despp.core.models import AuditAction, User
from despp.dispatch.events import Kind, call_stream, incident_stream
from despp.dispatch.geo_search import EARTH_RADIUS_M, ResolvedLocation, distance_m
from despp.dispatch.models import (
    OPEN_INCIDENT_STATUSES,
    Call,
    Caution,
    CautionKind,
    Incident,
    IncidentCounter,
    IncidentStatus,
    NatureCode,
    Priority,
)
from despp.dispatch.services._common import Pending, iso

# Premise cautions are looked for within this box before each one's own radius is applied.
_CAUTION_SEARCH_M = 2_000


# --- cautions -----------------------------------------------------------------------------


def cautions_near(
    lat: float | None, lon: float | None, names: list[str] | None = None
) -> list[Caution]:
    """Unexpired cautions that apply: premise cautions whose radius covers the point, and
    person cautions naming one of `names` (case-insensitive, exact name). Every agency's
    cautions are shown to everyone: they exist to keep responders safe."""
    now = timezone.now()
    found: list[Caution] = []
    live = Caution.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).order_by()
    if lat is not None and lon is not None:
        dlat = math.degrees(_CAUTION_SEARCH_M / EARTH_RADIUS_M)
        dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
        for caution in live.filter(
            kind=CautionKind.PREMISE,
            lat__range=(lat - dlat, lat + dlat),
            lon__range=(lon - dlon, lon + dlon),
        ):
            if caution.lat is None or caution.lon is None:
                continue
            if distance_m(lat, lon, caution.lat, caution.lon) <= caution.radius_m:
                found.append(caution)
    wanted = {name.strip().casefold() for name in names or [] if name.strip()}
    if wanted:
        query = Q()
        for name in wanted:
            query |= Q(person_name__iexact=name)
        found += list(live.filter(query, kind=CautionKind.PERSON))
    return found


def cautions_for(lat: float | None, lon: float | None) -> list[Caution]:
    return cautions_near(lat, lon) if lat is not None and lon is not None else []


def caution_summary(cautions: list[Caution]) -> list[dict[str, Any]]:
    return [{"id": c.pk, "kind": c.kind, "text": c.text} for c in cautions]


# --- numbering and creation ------------------------------------------------------------------


def incident_year(at: datetime) -> int:
    return timezone.localtime(at).year


def next_incident_number(psap_id: int, year: int) -> int:
    """Take the PSAP's next number for `year`. Call inside a transaction: the counter row is
    incremented by one conditional UPDATE ... RETURNING, which locks it (as select_for_update
    would) until the transaction ends, so two call-takers never get the same number and a
    rolled-back intake gives its number back. Numbers restart at 1 each year for each PSAP."""
    table = connection.ops.quote_name(IncidentCounter._meta.db_table)
    sql = (
        f"UPDATE {table} SET last_number = last_number + 1 "  # noqa: S608 - names are ours
        "WHERE psap_id = %s AND year = %s RETURNING last_number"
    )
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(sql, [psap_id, year])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        try:  # the PSAP's first incident of the year: make its counter, then take number 1
            with transaction.atomic():
                IncidentCounter.objects.create(psap_id=psap_id, year=year)
        except IntegrityError:  # another transaction made it first; its lock orders us
            pass
    raise RuntimeError(f"no incident counter for PSAP {psap_id} in {year}")


def check_priority(value: int | None, nature: NatureCode) -> int:
    if value is None:
        return nature.default_priority
    if isinstance(value, bool) or value not in Priority.values:
        raise ValidationError({"priority": f"must be one of {Priority.values} (1 most urgent)"})
    return int(value)


def insert_incident(
    pending: Pending,
    *,
    psap_id: int,
    psap_code: str,
    nature: NatureCode,
    priority: int | None,
    source: str,
    user: User | None,
    where: ResolvedLocation | None,
    location_text: str,
    call: Call | None = None,
    scheduled_for: datetime | None = None,
    cautions: list[Caution] | None = None,
    request: HttpRequest | None = None,
    extra: dict[str, Any] | None = None,
) -> Incident:
    """Insert an incident (and attach `call`); the caller has validated and holds the
    transaction. Appends incident.created (+ call.attached) to `pending`."""
    now = timezone.now()
    year = incident_year(now)
    incident = Incident(
        psap_id=psap_id,
        year=year,
        number=next_incident_number(psap_id, year),
        nature=nature,
        priority=check_priority(priority, nature),
        source=source,
        status=IncidentStatus.PENDING,
        lat=where.lat if where else None,
        lon=where.lon if where else None,
        location_text=location_text,
        town_id=where.town_id if where else None,
        police_agency_id=where.answer.police_agency_id if where else None,
        scheduled_for=scheduled_for,
        created_by=user,
        created_at=now,
    )
    incident.save(force_insert=True)
    if call is not None:
        Call.objects.filter(pk=call.pk).update(incident=incident)
        call.incident = incident
    audit.record(
        AuditAction.CREATE,
        request=request,
        user=user,
        object_type="incident",
        object_id=incident.pk,
    )
    data: dict[str, Any] = {
        "incident": incident.pk,
        "psap": psap_code,
        "number": incident.display_number,
        "nature": nature.code,
        "discipline": nature.discipline,
        "priority": incident.priority,
        "source": source,
        "status": incident.status,
        "lat": incident.lat,
        "lon": incident.lon,
        "location_text": location_text,
        "town": where.answer.town if where else None,
        "in_state": where.answer.in_state if where else True,
        "scheduled_for": iso(scheduled_for),
        "call": call.pk if call else None,
        "cautions": caution_summary(cautions or []),
        **(extra or {}),
    }
    pending.add(incident_stream(incident.pk), Kind.INCIDENT_CREATED, data)
    incident._created_event = data  # type: ignore[attr-defined]
    if call is not None:
        attached = {"call": call.pk, "incident": incident.pk, "psap": psap_code}
        pending.add(call_stream(call.pk), Kind.CALL_ATTACHED, attached)
    return incident


# --- locking -----------------------------------------------------------------------------


def lock_incidents(*ids: int) -> dict[int, Incident]:
    """Lock incidents in ascending id order (the order every dispatch service uses)."""
    rows = (
        Incident.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(set(ids)))
        .order_by("pk")
        .select_related("psap", "nature")
    )
    found = {incident.pk: incident for incident in rows}
    for wanted in ids:
        if wanted not in found:
            raise Conflict(f"incident {wanted} no longer exists")
    return found


def require_open(incident: Incident, doing: str) -> None:
    if incident.status not in OPEN_INCIDENT_STATUSES:
        raise Conflict(
            f"incident {incident.display_number} is {incident.get_status_display().lower()}; "
            f"cannot {doing}",
            current_state=incident.status,
        )


def audit_update(incident: Incident, user: User | None, request: HttpRequest | None) -> None:
    audit.record(
        AuditAction.UPDATE,
        request=request,
        user=user,
        object_type="incident",
        object_id=incident.pk,
    )
