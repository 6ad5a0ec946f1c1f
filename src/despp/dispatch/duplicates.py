"""Duplicate-call detection: is a new call about an incident the PSAP already has open?

A candidate is an open incident (pending or active) of the same PSAP, of a compatible
discipline, with a point within DESPP_DUPLICATE_RADIUS_M metres of the call's point, entered
no more than DESPP_DUPLICATE_WINDOW_MIN minutes before the call was received. Candidates are
offered to the call-taker for linking instead of a new incident; nothing is linked by itself.

Compatible disciplines: the same one; EMS with fire and with police (a fire with an injury,
a crash with entrapment, a shooting reported as a wound); "other" with anything; a call with
no nature yet with anything. Police and fire alone are not (a burglary next to a kitchen fire
are two events). A call with no point (a town alone) has no duplicates by distance.

Settings are read on every call (through django.conf.settings), so tests and an operator's
environment change them without a code change.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from despp.dispatch.geo_search import EARTH_RADIUS_M, distance_m
from despp.dispatch.models import OPEN_INCIDENT_STATUSES, Discipline, Incident

_COMPATIBLE: dict[str, frozenset[str]] = {
    Discipline.POLICE: frozenset({Discipline.POLICE, Discipline.EMS, Discipline.OTHER}),
    Discipline.FIRE: frozenset({Discipline.FIRE, Discipline.EMS, Discipline.OTHER}),
    Discipline.EMS: frozenset(Discipline.values),
    Discipline.OTHER: frozenset(Discipline.values),
}


def compatible_disciplines(discipline: str | None) -> frozenset[str]:
    return _COMPATIBLE.get(discipline or "", frozenset(Discipline.values))


def duplicate_radius_m() -> int:
    return int(settings.DESPP_DUPLICATE_RADIUS_M)


def duplicate_window() -> timedelta:
    return timedelta(minutes=int(settings.DESPP_DUPLICATE_WINDOW_MIN))


@dataclass(frozen=True)
class DuplicateCandidate:
    incident: Incident
    distance_m: float
    minutes_before: float  # how long before the call the incident was entered


def find_duplicates(
    *,
    psap_id: int,
    lat: float | None,
    lon: float | None,
    discipline: str | None = None,
    at: datetime | None = None,
    exclude_incident_id: int | None = None,
) -> list[DuplicateCandidate]:
    """Open incidents that may be the same event as a call at (lat, lon) received `at`,
    nearest first. One query (a bounding box on the indexed columns, then exact distance)."""
    radius = duplicate_radius_m()
    if lat is None or lon is None or radius <= 0:
        return []
    at = at or timezone.now()
    window = duplicate_window()
    dlat = math.degrees(radius / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    incidents = (
        Incident.objects.filter(
            psap_id=psap_id,
            status__in=OPEN_INCIDENT_STATUSES,
            nature__discipline__in=compatible_disciplines(discipline),
            created_at__gte=at - window,
            created_at__lte=at + timedelta(minutes=1),  # a call replayed late: not the future
            lat__range=(lat - dlat, lat + dlat),
            lon__range=(lon - dlon, lon + dlon),
        )
        .select_related("nature")
        .order_by()
    )
    if exclude_incident_id is not None:
        incidents = incidents.exclude(pk=exclude_incident_id)
    found = []
    for incident in incidents:
        if incident.lat is None or incident.lon is None:  # the range excludes these
            continue
        distance = distance_m(lat, lon, incident.lat, incident.lon)
        if distance <= radius:
            minutes = (at - incident.created_at).total_seconds() / 60
            found.append(DuplicateCandidate(incident, round(distance, 1), round(minutes, 1)))
    found.sort(key=lambda candidate: candidate.distance_m)
    return found
