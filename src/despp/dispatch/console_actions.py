"""Carry out one console command (commands.py) through the dispatch services.

The console never writes a model: every command resolves what it names through the floor's
selectors (an incident or unit the user may not see is "not found", never "forbidden"), then
calls exactly one service. Whatever a service refuses comes back as an `Outcome` with the
service's own words: a 409 (`Conflict`, e.g. an invalid status transition), a 422
(`ValidationError`, naming the field), a 403 (the role may not). The view shows it inline.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest

from despp.core.errors import Conflict
from despp.core.models import User
from despp.core.permissions import Action, require
from despp.dispatch import commands, geo_search, recommend
from despp.dispatch.commands import (
    Acknowledge,
    ChangeStatus,
    Clear,
    Close,
    Command,
    Dispatch,
    Help,
    IncidentRef,
    NewIncident,
    Recommend,
)
from despp.dispatch.models import COMMITTED_STATUSES, Assignment, AssignmentStatus, Incident, Unit
from despp.dispatch.selectors_console import incident_by_number, unit_by_call_sign
from despp.dispatch.services import assignments as assignment_services
from despp.dispatch.services import incidents as incident_services
from despp.dispatch.services import units as unit_services

# Panels a command may change, refreshed at once on this console (others learn from the feed).
ALL_PANELS = ("alerts", "calls", "incidents", "units", "incident", "map")


@dataclass(frozen=True)
class Choice:
    """A follow-up the console offers as a button: the label and the command line it runs."""

    label: str
    line: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    ok: bool
    message: str
    status: int = 200
    choices: list[Choice] = field(default_factory=list)
    incident_id: int | None = None  # the incident to select on the console
    panels: tuple[str, ...] = ()
    help: bool = False
    recommendation: Any = None
    accept: Choice | None = None  # the button that dispatches exactly the recommended units
    incident_number: str = ""
    field_errors: dict[str, list[str]] = field(default_factory=dict)


class Refused(Exception):
    """A command that cannot go on; carries the Outcome to show."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


def _refuse(message: str, status: int = 400, **kwargs: Any) -> Refused:
    return Refused(Outcome(ok=False, message=message, status=status, **kwargs))


def find_incident(user: User, ref: IncidentRef) -> Incident:
    found = incident_by_number(user, ref.number, ref.year)
    if not found:
        raise _refuse(f"No incident {ref} on your floor.", 404)
    if len(found) > 1:
        psaps = ", ".join(incident.psap.code for incident in found)
        raise _refuse(f"Incident number {ref} exists at several PSAPs ({psaps}).", 400)
    return found[0]


def find_unit(user: User, call_sign: str) -> Unit:
    unit = unit_by_call_sign(user, call_sign)
    if unit is None:
        raise _refuse(f"No unit {call_sign}.", 404)
    return unit


def _open_assignments(unit: Unit) -> list[Assignment]:
    return list(
        Assignment.objects.filter(unit=unit)
        .exclude(status=AssignmentStatus.CLEARED)
        .select_related("incident", "unit")
        .order_by("id")
    )


def assignment_for_status(
    user: User, unit: Unit, wanted: AssignmentStatus, ref: IncidentRef | None, letter: str
) -> Assignment:
    """The one assignment a status change (or clear) applies to: the one on the named
    incident; else the unit's committed one; else its only reservation. Ambiguous: the
    console asks which incident, with one button per incident."""
    open_ones = _open_assignments(unit)
    if ref is not None:
        incident = find_incident(user, ref)
        for assignment in open_ones:
            if assignment.incident_id == incident.pk:
                return assignment
        raise _refuse(f"{unit.call_sign} is not on incident {incident.display_number}.", 409)
    if not open_ones:
        raise _refuse(f"{unit.call_sign} is not on any incident.", 409)
    committed = [a for a in open_ones if a.status in COMMITTED_STATUSES]
    if len(committed) == 1 and wanted != AssignmentStatus.DISPATCHED:
        return committed[0]
    candidates = committed or open_ones
    if wanted == AssignmentStatus.DISPATCHED:
        candidates = [a for a in open_ones if a.status == AssignmentStatus.RESERVED]
    if len(candidates) == 1:
        return candidates[0]
    word = wanted.name if letter == "S" else ""
    choices = [
        Choice(
            f"{a.incident.display_number} ({a.get_status_display().lower()})",
            " ".join(
                part for part in (letter, unit.call_sign, word, a.incident.display_number) if part
            ),
        )
        for a in (candidates or open_ones)
    ]
    raise _refuse(f"{unit.call_sign} is on several incidents: which one?", 409, choices=choices)


def _location_of(command: NewIncident, pick: int | None) -> dict[str, Any]:
    """Where a typed location is, validated against the shipped geography (geo_search): a
    picked candidate; the only candidate; coordinates; a town named exactly; an address
    ending in ", <town>". Several candidates: the console offers them as buttons."""
    text = command.location
    candidates = geo_search.search_places(text, limit=8)
    if pick is not None and 0 <= pick < len(candidates):
        chosen = candidates[pick]
    elif len(candidates) == 1 or (candidates and candidates[0].kind == "coordinates"):
        chosen = candidates[0]
    else:
        named = [c for c in candidates if c.kind == "town" and c.answer.town == text.strip()]
        named = named or [
            c
            for c in candidates
            if c.kind == "town" and (c.answer.town or "").casefold() == text.strip().casefold()
        ]
        if len(named) == 1:
            chosen = named[0]
        elif candidates:
            line = f"N {command.nature} {text}"
            raise _refuse(
                f"{text!r} matches several locations: pick one.",
                409,
                choices=[Choice(c.label, line, {"pick": str(i)}) for i, c in enumerate(candidates)],
            )
        else:
            town = text.rsplit(",", 1)[-1].strip() if "," in text else ""
            if town and geo_search.town_answers().by_name.get(town.casefold()) is not None:
                return {"town": town, "label": town}
            raise _refuse(
                f"No town, place, mile marker or coordinates match {text!r}. Type a town, a "
                "common place, a mile marker (I-84 mm 62), lat, lon, or an address ending "
                "with its town (12 Main St, Hartford).",
                422,
            )
    if chosen.place_id is not None:
        return {"place_id": chosen.place_id, "label": chosen.label}
    if chosen.lat is not None and chosen.lon is not None:
        return {"lat": chosen.lat, "lon": chosen.lon, "label": chosen.label}
    return {"town": chosen.answer.town, "label": chosen.label}


def _new_incident(
    user: User, command: NewIncident, request: HttpRequest, pick: int | None
) -> Outcome:
    require(user, Action.INCIDENT_UPDATE, request=request)
    where = _location_of(command, pick)
    label = where.pop("label")
    incident = incident_services.create_incident(
        nature=command.nature,
        user=user,
        location_text=command.location,
        request=request,
        **where,
    )
    return Outcome(
        ok=True,
        message=f"Incident {incident.display_number} created: {incident.nature.code} at "
        f"{command.location} ({label}).",
        incident_id=incident.pk,
        panels=("incidents", "incident", "map"),
    )


def _dispatch(
    user: User, command: Dispatch, request: HttpRequest, recommended: list[int]
) -> Outcome:
    incident = find_incident(user, command.incident)
    units = [find_unit(user, call_sign) for call_sign in command.units]
    try:
        assignments = assignment_services.dispatch_units(
            incident,
            units,
            user,
            recommended_ids=recommended,
            override_reason=command.reason,
            request=request,
        )
    except ValidationError as error:
        if "override_reason" in getattr(error, "message_dict", {}):
            raise _refuse(
                f"{error.message_dict['override_reason'][0]} Type it after a slash: "
                f"D {command.incident} {' '.join(command.units)} / <reason>",
                422,
                incident_id=incident.pk,
            ) from error
        raise
    names = ", ".join(a.unit.call_sign for a in assignments)
    return Outcome(
        ok=True,
        message=f"Dispatched {names} to {incident.display_number}.",
        incident_id=incident.pk,
        panels=("incidents", "units", "incident", "map"),
    )


def _status(user: User, command: ChangeStatus | Clear, request: HttpRequest) -> Outcome:
    unit = find_unit(user, command.unit)
    wanted = command.status if isinstance(command, ChangeStatus) else AssignmentStatus.CLEARED
    letter = "S" if isinstance(command, ChangeStatus) else "C"
    assignment = assignment_for_status(user, unit, wanted, command.incident, letter)
    assignment_services.change_status(assignment, wanted, user, request=request)
    return Outcome(
        ok=True,
        message=f"{unit.call_sign} {wanted.label.lower()} on {assignment.incident.display_number}.",
        incident_id=assignment.incident_id,
        panels=("incidents", "units", "incident", "map"),
    )


def _close(user: User, command: Close, request: HttpRequest) -> Outcome:
    require(user, Action.INCIDENT_UPDATE, request=request)
    incident = find_incident(user, command.incident)
    incident_services.close_incident(incident, command.disposition, user, request=request)
    return Outcome(
        ok=True,
        message=f"Incident {incident.display_number} closed: {command.disposition}.",
        incident_id=incident.pk,
        panels=("incidents", "incident", "map"),
    )


def _acknowledge(user: User, command: Acknowledge, request: HttpRequest) -> Outcome:
    unit = find_unit(user, command.unit)
    unit_services.acknowledge_emergency(unit, user, request=request)
    return Outcome(
        ok=True,
        message=f"Emergency of {unit.call_sign} acknowledged.",
        panels=("alerts", "units", "map"),
    )


def _recommend(user: User, command: Recommend, request: HttpRequest) -> Outcome:
    require(user, Action.INCIDENT_DISPATCH, request=request)
    incident = find_incident(user, command.incident)
    result = recommend.recommend(incident)
    units = " ".join(pick.call_sign for pick in result.new_picks)
    accept = None
    if units:
        accept = Choice(f"Accept: dispatch {units}", f"D {incident.display_number} {units}")
    return Outcome(
        ok=True,
        message=f"Recommendation for {incident.display_number}.",
        incident_id=incident.pk,
        recommendation=result,
        accept=accept,
        incident_number=incident.display_number,
    )


def _problem_text(error: ValidationError) -> tuple[str, dict[str, list[str]]]:
    if hasattr(error, "message_dict"):
        fields = {name: [str(m) for m in messages] for name, messages in error.message_dict.items()}
        text = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        return text, fields
    return " ".join(str(m) for m in error.messages), {}


def execute(
    line: str,
    user: User,
    request: HttpRequest,
    *,
    pick: int | None = None,
    recommended: Callable[[int], list[int]] = lambda incident_id: [],
) -> Outcome:
    """Parse and carry out one command line; never raises for anything the user did."""
    try:
        command: Command = commands.parse(line)
    except commands.CommandError as error:
        return Outcome(ok=False, message=str(error), status=400)
    try:
        if isinstance(command, Help):
            return Outcome(ok=True, message="Commands", help=True)
        if isinstance(command, NewIncident):
            return _new_incident(user, command, request, pick)
        if isinstance(command, Dispatch):
            incident = find_incident(user, command.incident)
            return _dispatch(user, command, request, recommended(incident.pk))
        if isinstance(command, ChangeStatus | Clear):
            return _status(user, command, request)
        if isinstance(command, Recommend):
            return _recommend(user, command, request)
        if isinstance(command, Close):
            return _close(user, command, request)
        return _acknowledge(user, command, request)
    except Refused as refused:
        return refused.outcome
    except Conflict as conflict:
        return Outcome(ok=False, message=str(conflict.detail), status=409)
    except ValidationError as error:
        text, fields = _problem_text(error)
        return Outcome(ok=False, message=text, status=422, field_errors=fields)
    except PermissionDenied as denied:
        return Outcome(ok=False, message=str(denied) or "Your roles do not allow this.", status=403)
    except Http404:
        return Outcome(ok=False, message="Not found on your floor.", status=404)
