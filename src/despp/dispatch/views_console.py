"""The dispatcher console at /staff/dispatch/: one screen, server-rendered, kept live by the
feed (feed.py) and HTMX.

The page renders every panel; each panel is also a partial (`panel/<name>/`) that the console
re-fetches when the feed names an event touching it. Those refreshes carry
`X-Despp-Passive: 1`, so a console left open does not keep its session alive, and they are not
audited again (the access audit records the console being opened and each incident a person
selects). Every action is a command line (commands.py), typed or sent by a button; the views
hand it to console_actions.py, which calls the services. Nothing here writes a model.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from despp.core import audit
from despp.core.eventlog.feed import head_cursor
from despp.core.middleware import is_passive
from despp.core.models import AuditAction, User
from despp.core.permissions import Action, action_required, can
from despp.dispatch import commands, mapdata, selectors_console
from despp.dispatch.console_actions import Choice, Outcome, execute
from despp.dispatch.models import AssignmentStatus, DispositionCode
from despp.dispatch.selectors import incident_detail
from despp.dispatch.selectors_units import BoardRow
from despp.dispatch.states import TRANSITIONS, UnitStatus

# Short names on status buttons, as dispatchers say them on the radio.
BUTTON_LABELS = {
    AssignmentStatus.DISPATCHED: ("DISP", "Dispatched"),
    AssignmentStatus.EN_ROUTE: ("ER", "En route"),
    AssignmentStatus.ON_SCENE: ("OS", "On scene"),
    AssignmentStatus.TRANSPORTING: ("TR", "Transporting"),
    AssignmentStatus.AT_HOSPITAL: ("AH", "At hospital"),
    AssignmentStatus.CLEARED: ("CL", "Clear"),
}
RECOMMENDED_KEY = "dispatch_recommended"


def status_choices(call_sign: str, status: str, incident_number: str) -> list[Choice]:
    """The buttons for a unit's next statuses on one incident (the transition table's)."""
    choices = []
    for wanted in sorted(TRANSITIONS[AssignmentStatus(status)], key=list(AssignmentStatus).index):
        word, label = BUTTON_LABELS[wanted]
        if wanted == AssignmentStatus.CLEARED:
            line = f"C {call_sign} {incident_number}"
        else:
            line = f"S {call_sign} {word} {incident_number}"
        choices.append(Choice(label, line))
    return choices


@dataclass(frozen=True)
class UnitLine:
    row: BoardRow
    actions: list[Choice]


def _unit_lines(rows: list[BoardRow], user: User) -> list[UnitLine]:
    may_change = can(user, Action.UNIT_STATUS)
    lines = []
    for row in rows:
        actions: list[Choice] = []
        if may_change and row.committed is not None:
            actions = status_choices(
                row.call_sign, row.committed.status, row.committed.incident_number
            )
        lines.append(UnitLine(row, actions))
    return lines


def _selected_id(request: HttpRequest) -> int | None:
    value = request.GET.get("incident") or request.GET.get("id") or ""
    return int(value) if value.isdigit() and len(value) < 12 else None


def _incident_context(request: HttpRequest, incident_id: int | None) -> dict[str, Any]:
    if incident_id is None:
        return {"detail": None}
    user = request.user
    try:
        detail = incident_detail(user, incident_id)
    except Http404:
        return {"detail": None, "missing": True}
    row = selectors_console.row_for_detail(detail)
    if not is_passive(request):
        audit.record(
            AuditAction.READ, request=request, object_type="incident", object_id=incident_id
        )
    assignment_actions = []
    may_change = can(user, Action.UNIT_STATUS)
    for assignment in detail.assignments:
        actions: list[Choice] = []
        if may_change and assignment.status != AssignmentStatus.CLEARED:
            actions = status_choices(
                assignment.unit.call_sign, assignment.status, detail.incident.display_number
            )
        assignment_actions.append((assignment, actions))
    return {
        "detail": detail,
        "row": row,
        "assignment_actions": assignment_actions,
        "dispositions": DispositionCode.objects.filter(active=True),
        "timeline": detail.timeline[-12:][::-1],
    }


def _board(request: HttpRequest) -> list[BoardRow]:
    """The unit board, read once per request (the units panel and the map both show it)."""
    cached: list[BoardRow] | None = getattr(request, "_dispatch_board", None)
    if cached is None:
        cached = selectors_console.board(request.user)
        request._dispatch_board = cached  # type: ignore[attr-defined]
    return cached


def _markers_json(request: HttpRequest) -> str:
    found = selectors_console.markers(request.user, _board(request))
    return json.dumps([marker.as_json() for marker in found], separators=(",", ":"))


def _panel_context(request: HttpRequest, name: str, selected: int | None) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    if name == "alerts":
        return {"emergencies": selectors_console.open_emergencies(user)}
    if name == "calls":
        return {"calls": selectors_console.calls_panel(user)}
    if name == "incidents":
        return {"incidents": selectors_console.active_incidents(user), "selected_id": selected}
    if name == "units":
        lines = _unit_lines(_board(request), user)
        available = [
            line
            for line in lines
            if line.row.status == UnitStatus.AVAILABLE
            and not line.row.emergency
            and not line.row.reserved
        ]
        return {
            "units": lines,
            "busy_units": [line for line in lines if line not in available],
            "available_units": available,
        }
    if name == "incident":
        return _incident_context(request, selected)
    raise Http404("No such panel.")


PANELS = ("alerts", "calls", "incidents", "units", "incident")


def _permissions(user: User) -> dict[str, bool]:
    return {
        "may_dispatch": can(user, Action.INCIDENT_DISPATCH),
        "may_status": can(user, Action.UNIT_STATUS),
        "may_update": can(user, Action.INCIDENT_UPDATE),
        "may_create": can(user, Action.CALL_CREATE),
    }


def _page_context(
    request: HttpRequest, result: Outcome | None = None, selected: int | None = None
) -> dict[str, Any]:
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, Any] = {
        "cursor": head_cursor(),
        "verbs": commands.VERBS,
        "status_help": commands.STATUS_HELP,
        "overdue": sorted(selectors_console.OVERDUE.items()),
        "result": result,
        **_permissions(user),
    }
    selected = selected or _selected_id(request)
    for name in PANELS:
        context.update(_panel_context(request, name, selected))
    context["markers_json"] = _markers_json(request)
    return context


@require_GET
@action_required(Action.INCIDENT_VIEW)
def console(request: HttpRequest) -> HttpResponse:
    audit.record(AuditAction.READ, request=request, object_type="dispatch_console")
    return render(request, "dispatch/console.html", _page_context(request))


@require_GET
@action_required(Action.INCIDENT_VIEW)
def panel(request: HttpRequest, name: str) -> HttpResponse:
    """One panel's HTML, for a refresh after a feed event (or a click)."""
    if name not in PANELS:
        raise Http404("No such panel.")
    user: User = request.user  # type: ignore[assignment]
    context = {**_panel_context(request, name, _selected_id(request)), **_permissions(user)}
    return render(request, f"dispatch/console_{name}.html", context)


def _remember_recommendation(request: HttpRequest, outcome: Outcome) -> None:
    """The units last recommended per incident, so a typed dispatch of exactly those counts as
    accepting the recommendation and one of others asks for the override reason."""
    if outcome.recommendation is None or outcome.incident_id is None:
        return
    remembered = dict(request.session.get(RECOMMENDED_KEY, {}))
    remembered[str(outcome.incident_id)] = list(outcome.recommendation.unit_ids)
    # Keep the last few incidents only: the session is not a store.
    request.session[RECOMMENDED_KEY] = dict(list(remembered.items())[-20:])


def _recommended(request: HttpRequest) -> Any:
    remembered = request.session.get(RECOMMENDED_KEY, {})

    def lookup(incident_id: int) -> list[int]:
        return [int(pk) for pk in remembered.get(str(incident_id), [])]

    return lookup


@require_POST
@action_required(Action.INCIDENT_VIEW)
def command(request: HttpRequest) -> HttpResponse:
    """Run one command line. HTMX: the result fragment (with the service's status code, and an
    `HX-Trigger` naming the panels to refresh); without JavaScript: the whole console."""
    user: User = request.user  # type: ignore[assignment]
    line = request.POST.get("line", "")
    if not line.strip() and request.POST.get("prefix"):
        # A panel's small form (dispatch units, close with): its fixed part and what was typed.
        line = f"{request.POST['prefix']} {request.POST.get('args', '')}"
    pick_text = request.POST.get("pick", "")
    pick = int(pick_text) if pick_text.isdigit() and len(pick_text) < 4 else None
    outcome = execute(line, user, request, pick=pick, recommended=_recommended(request))
    _remember_recommendation(request, outcome)
    context = {"result": outcome, "line": line, "verbs": commands.VERBS}
    context["status_help"] = commands.STATUS_HELP
    if request.headers.get("HX-Request") != "true":
        page = _page_context(request, outcome, selected=outcome.incident_id)
        page["line"] = "" if outcome.ok else line
        return render(request, "dispatch/console.html", page, status=outcome.status)
    response = render(request, "dispatch/console_result.html", context, status=outcome.status)
    trigger: dict[str, Any] = {"despp:refresh": {"panels": list(outcome.panels)}}
    if outcome.incident_id is not None:
        trigger["despp:select"] = {"incident": outcome.incident_id}
    response["HX-Trigger"] = json.dumps(trigger)
    return response


@require_GET
@action_required(Action.INCIDENT_VIEW)
def towns_geojson(request: HttpRequest) -> HttpResponse:
    """Connecticut's towns, simplified, for the console map (built once per reference
    revision; the browser keeps it and revalidates with its ETag)."""
    layer = mapdata.towns_layer()
    if request.headers.get("If-None-Match") == layer.etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(layer.body, content_type="application/geo+json")
    response["ETag"] = layer.etag
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@action_required(Action.INCIDENT_VIEW)
def panels(request: HttpRequest) -> HttpResponse:
    """Several panels in one response, each an HTMX out-of-band swap (`?p=units&p=map`): what
    a console re-fetches after a feed event, in one request rather than one per panel. `map`
    is the map's markers (JSON in a data attribute)."""
    known = (*PANELS, "map")
    names = [name for name in dict.fromkeys(request.GET.getlist("p")) if name in known]
    if not names:
        raise Http404("No such panel.")
    user: User = request.user  # type: ignore[assignment]
    selected = _selected_id(request)
    permissions = _permissions(user)
    parts = [
        (
            name,
            render_to_string(
                f"dispatch/console_{name}.html",
                {**_panel_context(request, name, selected), **permissions},
                request=request,
            ),
        )
        for name in names
        if name != "map"
    ]
    context = {"parts": parts, "markers_json": _markers_json(request) if "map" in names else None}
    return render(request, "dispatch/console_panels.html", context)
