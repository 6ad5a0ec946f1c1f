"""Calls and incidents put together and taken apart: attach a call, link two incidents,
merge one into another (its calls and units move), split calls off into a new incident.

Each validates first, locks incidents in ascending id order (then their calls and
assignments), writes, audits, and appends its events as the last writes; both incidents'
timelines always say what happened.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit
from despp.core.errors import Conflict
from despp.core.models import AuditAction, User
from despp.dispatch.events import Kind, call_stream, incident_stream
from despp.dispatch.geo_search import ResolvedLocation
from despp.dispatch.models import (
    Assignment,
    AssignmentStatus,
    Call,
    Incident,
    IncidentLink,
    IncidentSource,
    IncidentStatus,
    NatureCode,
)
from despp.dispatch.services._common import MAX_REASON, Pending, clean_text
from despp.dispatch.services._incident_core import (
    audit_update,
    cautions_for,
    insert_incident,
    lock_incidents,
    require_open,
)
from despp.dispatch.services._lookup import answer_of, nature_by_code


def attach(
    pending: Pending,
    call: Call,
    incident: Incident,
    user: User | None,
    *,
    request: HttpRequest | None = None,
) -> Incident:
    incident = lock_incidents(incident.pk)[incident.pk]
    require_open(incident, "attach a call")
    if call.incident_id is not None:
        raise Conflict(
            f"call {call.pk} is already part of incident {call.incident_id}",
            incident=call.incident_id,
        )
    if call.psap_id != incident.psap_id:
        raise Conflict(
            f"call {call.pk} and incident {incident.display_number} belong to different PSAPs"
        )
    Call.objects.filter(pk=call.pk).update(incident=incident)
    call.incident = incident
    audit.record(
        AuditAction.UPDATE,
        request=request,
        user=user,
        object_type="incident",
        object_id=incident.pk,
    )
    data = {"call": call.pk, "incident": incident.pk, "psap": incident.psap.code}
    pending.add(incident_stream(incident.pk), Kind.CALL_ATTACHED, data)
    pending.add(call_stream(call.pk), Kind.CALL_ATTACHED, data)
    return incident


def attach_call(
    call: Call, incident: Incident, user: User, *, request: HttpRequest | None = None
) -> Incident:
    """Attach a call with no incident to an open incident of its PSAP (a duplicate call).
    409 when the incident is closed or merged, the call already has one, or PSAPs differ."""
    with transaction.atomic():
        pending = Pending(user)
        locked = Call.objects.select_for_update(of=("self",)).get(pk=call.pk)
        incident = attach(pending, locked, incident, user, request=request)
        pending.flush()
    return incident


def link_incidents(
    incident: Incident,
    other: Incident,
    reason: str,
    user: User,
    *,
    request: HttpRequest | None = None,
) -> IncidentLink:
    """Record two incidents as related (both stay open; each timeline says so). 409 when they
    are already linked either way; 422 when they are the same incident or no reason."""
    text = clean_text("reason", reason, MAX_REASON, required=True)
    if incident.pk == other.pk:
        raise ValidationError({"other": "is the same incident"})
    with transaction.atomic():
        found = lock_incidents(incident.pk, other.pk)
        a, b = found[incident.pk], found[other.pk]
        if IncidentLink.objects.filter(Q(incident=a, other=b) | Q(incident=b, other=a)).exists():
            raise Conflict(f"incidents {a.display_number} and {b.display_number} are linked")
        link = IncidentLink.objects.create(incident=a, other=b, reason=text, created_by=user)
        for one in (a, b):
            audit_update(one, user, request)
        pending = Pending(user)
        for one, two in ((a, b), (b, a)):
            pending.add(
                incident_stream(one.pk),
                Kind.INCIDENT_LINKED,
                {
                    "incident": one.pk,
                    "other": two.pk,
                    "other_number": two.display_number,
                    "other_psap": two.psap.code,
                    "psap": one.psap.code,
                    "reason": text,
                },
            )
        pending.flush()
    return link


def merge_incidents(
    source: Incident,
    target: Incident,
    user: User,
    *,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> Incident:
    """Merge `source` into `target`: its calls and unit assignments move to the target, the
    source becomes MERGED (merged_into = target, closed_at stamped). Both timelines say so
    (incident.merged on the source, incident.absorbed on the target).

    Both must be open and of the same PSAP (409 otherwise); a unit with an open assignment on
    both incidents is a 409 naming it (clear it from one first).
    """
    text = clean_text("reason", reason, MAX_REASON)
    if source.pk == target.pk:
        raise ValidationError({"target": "is the incident being merged"})
    with transaction.atomic():
        found = lock_incidents(source.pk, target.pk)
        src, dst = found[source.pk], found[target.pk]
        require_open(src, "merge it")
        require_open(dst, "merge into it")
        if src.psap_id != dst.psap_id:
            raise Conflict("incidents of different PSAPs cannot be merged; link them instead")
        open_q = ~Q(status=AssignmentStatus.CLEARED)
        moving = list(
            Assignment.objects.select_for_update(of=("self",))
            .filter(incident=src)
            .select_related("unit")
            .order_by("pk")
        )
        on_target = set(
            Assignment.objects.filter(open_q, incident=dst).values_list("unit_id", flat=True)
        )
        both = sorted(
            a.unit.call_sign
            for a in moving
            if a.status != AssignmentStatus.CLEARED and a.unit_id in on_target
        )
        if both:
            raise Conflict(
                f"{', '.join(both)} on both incidents: clear the unit from one first",
                units=both,
            )
        call_ids = list(
            Call.objects.select_for_update(of=("self",))
            .filter(incident=src)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Call.objects.filter(pk__in=call_ids).update(incident=dst)
        Assignment.objects.filter(pk__in=[a.pk for a in moving]).update(incident=dst)
        now = timezone.now()
        src.status = IncidentStatus.MERGED
        src.merged_into = dst
        src.closed_at = now
        src.save(update_fields=["status", "merged_into", "closed_at"])
        for one in (src, dst):
            audit_update(one, user, request)
        moved = {
            "calls": call_ids,
            "assignments": [a.pk for a in moving],
            "units": [a.unit.call_sign for a in moving],
            "unit_statuses": {a.unit.call_sign: a.status for a in moving},
            "reason": text,
        }
        pending = Pending(user)
        pending.add(
            incident_stream(src.pk),
            Kind.INCIDENT_MERGED,
            {
                "incident": src.pk,
                "psap": src.psap.code,
                "into": dst.pk,
                "into_number": dst.display_number,
                "status": src.status,
                **moved,
            },
        )
        pending.add(
            incident_stream(dst.pk),
            Kind.INCIDENT_ABSORBED,
            {
                "incident": dst.pk,
                "psap": dst.psap.code,
                "from": src.pk,
                "from_number": src.display_number,
                **moved,
            },
        )
        for call_id in call_ids:
            pending.add(
                call_stream(call_id),
                Kind.CALL_ATTACHED,
                {"call": call_id, "incident": dst.pk, "psap": dst.psap.code, "from": src.pk},
            )
        pending.flush()
    return dst


def split_incident(
    incident: Incident,
    call_ids: list[int],
    user: User,
    *,
    nature: NatureCode | str | None = None,
    reason: str | None = None,
    request: HttpRequest | None = None,
) -> Incident:
    """Move some of an open incident's calls to a new incident (e.g. two events were taken
    for one). The new incident has the given nature (default: the same), the location of the
    first moved call, and a number of its own; both timelines say so (incident.split).
    422 when no call is named or a named call is not on this incident; 409 when it is closed.
    """
    text = clean_text("reason", reason, MAX_REASON)
    if not call_ids:
        raise ValidationError({"calls": "name at least one call to split off"})
    if len(set(call_ids)) != len(call_ids):
        raise ValidationError({"calls": "names a call twice"})
    with transaction.atomic():
        src = lock_incidents(incident.pk)[incident.pk]
        require_open(src, "split it")
        calls = list(
            Call.objects.select_for_update(of=("self",))
            .filter(pk__in=call_ids)
            .select_related("place", "psap")
            .order_by("pk")
        )
        strays = sorted(set(call_ids) - {c.pk for c in calls if c.incident_id == src.pk})
        if strays:
            raise ValidationError(
                {"calls": f"not calls of incident {src.display_number}: {strays}"}
            )
        nature_code = src.nature if nature is None else nature
        if isinstance(nature_code, str):
            nature_code = nature_by_code(nature_code)
        first = calls[0]
        point = (first.place.lat, first.place.lon) if first.place else (first.lat, first.lon)
        where = ResolvedLocation(answer_of(first), point[0], point[1], first.place, "call")
        pending = Pending(user)
        new = insert_incident(
            pending,
            psap_id=src.psap_id,
            psap_code=src.psap.code,
            nature=nature_code,
            priority=None,
            source=src.source if src.source != IncidentSource.TRANSFER else IncidentSource.CALL,
            user=user,
            where=where,
            location_text=first.location_text or first.civic_address,
            cautions=cautions_for(where.lat, where.lon),
            request=request,
            extra={"split_from": src.pk, "split_from_number": src.display_number},
        )
        Call.objects.filter(pk__in=[c.pk for c in calls]).update(incident=new)
        audit_update(src, user, request)
        moved = [c.pk for c in calls]
        pending.add(
            incident_stream(src.pk),
            Kind.INCIDENT_SPLIT,
            {
                "incident": src.pk,
                "psap": src.psap.code,
                "calls": moved,
                "to": new.pk,
                "to_number": new.display_number,
                "reason": text,
            },
        )
        pending.add(
            incident_stream(new.pk),
            Kind.INCIDENT_SPLIT,
            {
                "incident": new.pk,
                "psap": src.psap.code,
                "calls": moved,
                "from": src.pk,
                "from_number": src.display_number,
                "reason": text,
            },
        )
        for call_id in moved:
            pending.add(
                call_stream(call_id),
                Kind.CALL_ATTACHED,
                {"call": call_id, "incident": new.pk, "psap": src.psap.code, "from": src.pk},
            )
        pending.flush()
    return new
