"""Dispatching units and moving them through their per-incident status (services level).

The defect classes open-source CADs keep reporting (TicketsCAD #50, #82, #116, #141) each have
a test here: a status on one incident never bleeds into another; a second call to a committed
unit is refused unless reassigned explicitly; a reservation does not commit; on scene then a
new dispatch.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from despp.core.errors import Conflict
from despp.core.models import AccessAudit, Agency, Event, Troop, User
from despp.dispatch.events import Kind, incident_stream
from despp.dispatch.models import Assignment, AssignmentStatus, IncidentStatus, Unit
from despp.dispatch.selectors_units import unit_board
from despp.dispatch.services.assignments import (
    change_status,
    clear_unit,
    dispatch_units,
    reserve_unit,
)
from despp.dispatch.states import UnitStatus, derive_unit_status
from tests.dispatch import unit_helpers as make

S = AssignmentStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(agencies: dict[str, Agency]) -> dict[str, Any]:
    psap = agencies["psap-csp-eastern"]
    troop = agencies["csp-troop-c"]
    return {
        "psap": psap,
        "troop": troop,
        "a": make.incident(psap),
        "b": make.incident(psap, lat=41.79, lon=-72.23),
        "c112": make.unit("C-112", troop),
        "c114": make.unit("C-114", troop, lat=41.80, lon=-72.25),
    }


def _status(unit: Unit) -> UnitStatus:
    statuses = list(unit.assignments.values_list("status", flat=True))
    unit.refresh_from_db()
    return derive_unit_status(unit.in_service, statuses)


def _events(incident_id: int, kind: str | None = None) -> list[Event]:
    events = Event.objects.filter(stream=incident_stream(incident_id)).order_by("position")
    return list(events.filter(kind=kind) if kind else events)


def test_dispatching_a_unit_commits_it_and_stamps_the_incident(
    floor: dict[str, Any], dispatcher: User
) -> None:
    before = timezone.now()
    [assignment] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)

    assert assignment.status == S.DISPATCHED
    assert assignment.dispatched_at is not None and assignment.dispatched_at >= before
    floor["a"].refresh_from_db()
    assert floor["a"].status == IncidentStatus.ACTIVE
    assert floor["a"].first_notified_at == assignment.dispatched_at
    assert _status(floor["c112"]) == UnitStatus.COMMITTED
    [event] = _events(floor["a"].pk, Kind.UNIT_ASSIGNED)
    assert event.data["call_sign"] == "C-112"
    assert event.data["psap"] == "psap-csp-eastern"
    assert event.actor == dispatcher
    assert AccessAudit.objects.filter(object_type="incident", object_id=str(floor["a"].pk)).exists()


def test_first_en_route_and_on_scene_stamps_come_from_the_first_unit_only(
    floor: dict[str, Any], dispatcher: User
) -> None:
    first, second = dispatch_units(floor["a"], [floor["c112"], floor["c114"]], dispatcher)
    change_status(first, S.EN_ROUTE, dispatcher)
    change_status(second, S.EN_ROUTE, dispatcher)
    change_status(second, S.ON_SCENE, dispatcher)
    change_status(first, S.ON_SCENE, dispatcher)

    floor["a"].refresh_from_db()
    assert floor["a"].first_en_route_at == first.en_route_at
    assert floor["a"].first_on_scene_at == second.on_scene_at
    assert floor["a"].first_on_scene_at < first.on_scene_at


def test_a_status_change_on_one_incident_never_bleeds_into_another(
    floor: dict[str, Any], dispatcher: User
) -> None:
    scheduled = make.incident(floor["psap"], scheduled_for=timezone.now() + timedelta(days=1))
    reservation = reserve_unit(scheduled, floor["c112"], dispatcher)
    mine, other_unit = dispatch_units(floor["a"], [floor["c112"], floor["c114"]], dispatcher)

    change_status(mine, S.EN_ROUTE, dispatcher)
    change_status(mine, S.ON_SCENE, dispatcher)

    reservation.refresh_from_db()
    other_unit.refresh_from_db()
    assert reservation.status == S.RESERVED  # the unit's other incident is untouched
    assert reservation.dispatched_at is None and reservation.on_scene_at is None
    assert other_unit.status == S.DISPATCHED  # so is the other unit on the same incident
    assert other_unit.on_scene_at is None
    statuses = [e.data["to"] for e in _events(floor["a"].pk, Kind.UNIT_STATUS)]
    assert statuses == ["en_route", "on_scene"]
    assert _events(scheduled.pk, Kind.UNIT_STATUS) == []


def test_a_second_call_to_a_committed_unit_is_refused_naming_where_it_is(
    floor: dict[str, Any], dispatcher: User
) -> None:
    [first] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    change_status(first, S.ON_SCENE, dispatcher)
    events_before = Event.objects.count()

    with pytest.raises(Conflict) as refused:
        dispatch_units(floor["b"], [floor["c112"]], dispatcher)

    assert "C-112 is on scene at incident" in refused.value.detail
    assert floor["a"].display_number in refused.value.detail
    assert refused.value.extensions["committed_incident"] == floor["a"].pk
    first.refresh_from_db()
    assert first.status == S.ON_SCENE  # never silently overwritten by "dispatched"
    assert not Assignment.objects.filter(incident=floor["b"]).exists()
    assert Event.objects.count() == events_before


def test_an_explicit_reassignment_clears_the_unit_on_its_first_incident_and_says_so(
    floor: dict[str, Any], dispatcher: User
) -> None:
    [first] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)

    [second] = dispatch_units(floor["b"], [floor["c112"]], dispatcher, reassign=True)

    first.refresh_from_db()
    assert first.status == S.CLEARED and first.cleared_at == second.dispatched_at
    assert second.status == S.DISPATCHED
    [left] = _events(floor["a"].pk, Kind.UNIT_STATUS)
    assert left.data["to"] == "cleared"
    assert left.data["reassigned_to"] == floor["b"].pk
    assert Assignment.objects.filter(unit=floor["c112"], status__in=["dispatched"]).count() == 1


def test_reserving_a_unit_for_a_scheduled_incident_does_not_commit_it(
    floor: dict[str, Any], dispatcher: User
) -> None:
    scheduled = make.incident(floor["psap"], scheduled_for=timezone.now() + timedelta(hours=3))
    reservation = reserve_unit(scheduled, floor["c112"], dispatcher)

    assert reservation.status == S.RESERVED and reservation.dispatched_at is None
    assert _status(floor["c112"]) == UnitStatus.AVAILABLE
    scheduled.refresh_from_db()
    assert scheduled.status == IncidentStatus.PENDING and scheduled.first_notified_at is None
    # Still free for a live call, and the reservation survives it.
    [live] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    clear_unit(live, dispatcher)
    # At the scheduled time the reservation becomes the dispatch.
    [dispatched] = dispatch_units(scheduled, [floor["c112"]], dispatcher)
    assert dispatched.pk == reservation.pk and dispatched.status == S.DISPATCHED
    assert dispatched.reserved_at is not None


def test_only_a_scheduled_incident_takes_a_reservation(
    floor: dict[str, Any], dispatcher: User
) -> None:
    with pytest.raises(Conflict, match="not scheduled"):
        reserve_unit(floor["a"], floor["c112"], dispatcher)


def test_a_reserved_unit_committed_elsewhere_cannot_be_moved_to_dispatched(
    floor: dict[str, Any], dispatcher: User
) -> None:
    scheduled = make.incident(floor["psap"], scheduled_for=timezone.now() + timedelta(hours=1))
    reservation = reserve_unit(scheduled, floor["c112"], dispatcher)
    dispatch_units(floor["a"], [floor["c112"]], dispatcher)

    with pytest.raises(Conflict, match="C-112 is dispatched at incident"):
        change_status(reservation, S.DISPATCHED, dispatcher)
    reservation.refresh_from_db()
    assert reservation.status == S.RESERVED


def test_on_scene_then_a_new_dispatch_after_clearing_starts_a_fresh_assignment(
    floor: dict[str, Any], dispatcher: User
) -> None:
    [first] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    change_status(first, S.ON_SCENE, dispatcher)
    clear_unit(first, dispatcher, reason="scene secured")

    [second] = dispatch_units(floor["b"], [floor["c112"]], dispatcher)

    first.refresh_from_db()
    assert (first.status, second.status) == (S.CLEARED, S.DISPATCHED)
    assert first.on_scene_at is not None and second.on_scene_at is None
    assert _status(floor["c112"]) == UnitStatus.COMMITTED
    # And back to the first incident later: a new assignment, the old one's history kept.
    clear_unit(second, dispatcher)
    [again] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    assert again.pk != first.pk
    assert Assignment.objects.filter(incident=floor["a"], unit=floor["c112"]).count() == 2


def test_an_invalid_transition_is_a_conflict_with_the_tables_explanation(
    floor: dict[str, Any], dispatcher: User
) -> None:
    [assignment] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    events_before = Event.objects.count()

    with pytest.raises(Conflict) as refused:
        change_status(assignment, S.AT_HOSPITAL, dispatcher)

    assert refused.value.detail.startswith(
        "C-112 is dispatched on this incident and cannot go to at hospital"
    )
    assert refused.value.extensions["current_state"] == "dispatched"
    assert refused.value.extensions["requested_state"] == "at_hospital"
    assignment.refresh_from_db()
    assert assignment.status == S.DISPATCHED
    assert Event.objects.count() == events_before


def test_a_cleared_assignment_takes_no_further_status(
    floor: dict[str, Any], dispatcher: User
) -> None:
    [assignment] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    clear_unit(assignment, dispatcher)
    with pytest.raises(Conflict, match="can go to: nothing"):
        change_status(assignment, S.ON_SCENE, dispatcher)


def test_an_unknown_status_is_a_validation_error_naming_the_field(
    floor: dict[str, Any], dispatcher: User
) -> None:
    [assignment] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    with pytest.raises(ValidationError) as refused:
        change_status(assignment, "teleported", dispatcher)
    assert "status" in refused.value.message_dict


def test_a_late_status_report_keeps_its_time_but_never_goes_back_before_the_last(
    floor: dict[str, Any], dispatcher: User
) -> None:
    [assignment] = dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    with pytest.raises(ValidationError, match="is before the current status began"):
        change_status(assignment, S.EN_ROUTE, dispatcher, at=timezone.now() - timedelta(hours=1))
    with pytest.raises(ValidationError, match="is in the future"):
        change_status(assignment, S.EN_ROUTE, dispatcher, at=timezone.now() + timedelta(hours=1))
    later = assignment.status_at + timedelta(seconds=5)
    change_status(assignment, S.EN_ROUTE, dispatcher, at=later)
    assignment.refresh_from_db()
    assert assignment.en_route_at == later


def test_an_out_of_service_unit_cannot_be_dispatched(
    floor: dict[str, Any], dispatcher: User
) -> None:
    Unit.objects.filter(pk=floor["c112"].pk).update(
        in_service=False, out_of_service_reason="flat tyre"
    )
    with pytest.raises(Conflict, match=r"C-112 is out of service \(flat tyre\)"):
        dispatch_units(floor["a"], [floor["c112"]], dispatcher)


def test_units_cannot_be_sent_to_a_closed_incident(floor: dict[str, Any], dispatcher: User) -> None:
    closed = make.incident(floor["psap"], status=IncidentStatus.CLOSED)
    with pytest.raises(Conflict, match="is closed"):
        dispatch_units(closed, [floor["c112"]], dispatcher)


def test_a_unit_already_on_this_incident_is_not_dispatched_twice(
    floor: dict[str, Any], dispatcher: User
) -> None:
    dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    with pytest.raises(Conflict, match="already dispatched on this incident"):
        dispatch_units(floor["a"], [floor["c112"]], dispatcher)


def test_overriding_the_recommendation_needs_a_reason_and_is_logged(
    floor: dict[str, Any], dispatcher: User
) -> None:
    recommended = [floor["c112"].pk]
    with pytest.raises(ValidationError) as refused:
        dispatch_units(floor["a"], [floor["c114"]], dispatcher, recommended_ids=recommended)
    assert "override_reason" in refused.value.message_dict
    assert not Assignment.objects.exists()

    [assignment] = dispatch_units(
        floor["a"],
        [floor["c114"]],
        dispatcher,
        recommended_ids=recommended,
        override_reason="C-114 is closer by radio report",
    )

    assert assignment.override_reason == "C-114 is closer by radio report"
    assert assignment.recommended is False
    [override] = _events(floor["a"].pk, Kind.UNIT_OVERRIDE)
    assert override.data["reason"] == "C-114 is closer by radio report"
    assert override.data["left_out"] == ["C-112"] and override.data["added"] == ["C-114"]
    [decision] = _events(floor["a"].pk, Kind.INCIDENT_RECOMMENDED)
    assert decision.data["decision"] == "overridden"


@pytest.mark.parametrize(
    ("sent", "decision"),
    [(["C-112"], "accepted"), (["C-112", "C-114"], "amended"), ([], "amended")],
)
def test_accepting_or_amending_the_recommendation_needs_no_reason(
    floor: dict[str, Any], dispatcher: User, sent: list[str], decision: str
) -> None:
    extra = make.unit("C-119", floor["troop"])
    recommended = [floor["c112"].pk, extra.pk] if not sent else [floor["c112"].pk]
    units = [Unit.objects.get(call_sign=name) for name in sent] or [floor["c112"]]

    dispatch_units(floor["a"], units, dispatcher, recommended_ids=recommended)

    [event] = _events(floor["a"].pk, Kind.INCIDENT_RECOMMENDED)
    assert event.data["decision"] == decision
    assert _events(floor["a"].pk, Kind.UNIT_OVERRIDE) == []


def test_only_a_dispatching_role_dispatches_and_the_refusal_writes_nothing_but_the_audit(
    floor: dict[str, Any], calltaker: User
) -> None:
    with pytest.raises(PermissionDenied):
        dispatch_units(floor["a"], [floor["c112"]], calltaker)
    assert not Assignment.objects.exists()
    assert AccessAudit.objects.filter(username="calltaker", outcome="failure").exists()


def test_the_board_shows_the_derived_status_and_where_each_unit_is_committed(
    floor: dict[str, Any], dispatcher: User
) -> None:
    # Troop C is dispatched by the eastern PSAP, so its cars are the dispatcher's home units.
    Troop.objects.create(code="C", agency=floor["troop"], dispatch_center=floor["psap"])
    dispatch_units(floor["a"], [floor["c112"]], dispatcher)
    Unit.objects.filter(pk=floor["c114"].pk).update(in_service=False)
    make.unit("C-120", floor["troop"])

    rows = {row.call_sign: row for row in unit_board(dispatcher)}

    assert rows["C-112"].status == UnitStatus.COMMITTED
    assert rows["C-112"].committed is not None
    assert rows["C-112"].committed.incident_number == floor["a"].display_number
    assert rows["C-114"].status == UnitStatus.OUT_OF_SERVICE
    assert rows["C-120"].status == UnitStatus.AVAILABLE
    assert all(row.home for row in rows.values())
