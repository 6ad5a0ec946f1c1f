"""Hypothesis drives the unit services and the recommendation with random sequences.

Services: random dispatches (with and without reassignment), reservations, status changes,
clears and service changes over three units and three incidents. After every step the
database equals a plain model of the transition table — so no change ever touched an
assignment it did not name — a unit is never on two incidents, and the board's derived status
agrees with the database.

Recommendation: random fleets, plans and places; an out-of-service, committed or
emergency unit is never picked, picks satisfy their line, the primary agency is exhausted
before mutual aid, and an unfilled line leaves no eligible unit behind.
"""

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from despp.core.errors import Conflict
from despp.core.models import Agency, User
from despp.dispatch.models import COMMITTED_STATUSES, Assignment, AssignmentStatus, Unit
from despp.dispatch.recommend import (
    KIND_CODES,
    LineSpec,
    PlanSpec,
    UnitRow,
    build_fleet,
    recommend_plan,
)
from despp.dispatch.selectors_units import Thresholds, board_row, unit_board
from despp.dispatch.services.assignments import change_status, dispatch_units, reserve_unit
from despp.dispatch.services.units import set_in_service
from despp.dispatch.states import TRANSITIONS, UnitStatus
from tests.dispatch import unit_helpers as make

S = AssignmentStatus
UNITS, INCIDENTS = 3, 3
SCHEDULED = 0  # incident 0 is scheduled (takes reservations)

step = st.one_of(
    st.tuples(st.just("dispatch"), st.integers(0, UNITS - 1), st.integers(0, INCIDENTS - 1),
              st.booleans()),
    st.tuples(st.just("reserve"), st.integers(0, UNITS - 1), st.integers(0, INCIDENTS - 1),
              st.just(False)),
    st.tuples(st.just("status"), st.integers(0, UNITS - 1), st.integers(0, INCIDENTS - 1),
              st.sampled_from(list(S))),
    st.tuples(st.just("service"), st.integers(0, UNITS - 1), st.booleans(), st.booleans()),
)  # fmt: skip


class Model:
    """What the database should hold: open (unit, incident) -> status, and in-service flags."""

    def __init__(self) -> None:
        self.open: dict[tuple[int, int], S] = {}
        self.in_service = [True] * UNITS

    def committed_at(self, unit: int) -> int | None:
        for (u, i), status in self.open.items():
            if u == unit and status in COMMITTED_STATUSES:
                return i
        return None

    def expect(self, op: tuple[Any, ...]) -> bool:
        """Apply `op` to the model; False when the service must refuse it (and change nothing)."""
        name, u = op[0], op[1]
        if name == "dispatch":
            i, reassign = op[2], op[3]
            mine = self.open.get((u, i))
            elsewhere = self.committed_at(u)
            if not self.in_service[u] or (mine is not None and mine != S.RESERVED):
                return False
            if elsewhere is not None and elsewhere != i:
                if not reassign:
                    return False
                del self.open[(u, elsewhere)]
            self.open[(u, i)] = S.DISPATCHED
            return True
        if name == "reserve":
            i = op[2]
            if i != SCHEDULED or (u, i) in self.open:
                return False
            self.open[(u, i)] = S.RESERVED
            return True
        if name == "status":
            i, wanted = op[2], op[3]
            current = self.open.get((u, i))
            if current is None or wanted not in TRANSITIONS[current]:
                return False
            if wanted == S.DISPATCHED:
                elsewhere = self.committed_at(u)
                if not self.in_service[u] or (elsewhere is not None and elsewhere != i):
                    return False
            if wanted == S.CLEARED:
                del self.open[(u, i)]
            else:
                self.open[(u, i)] = wanted
            return True
        if name == "service":
            in_service, force = op[2], op[3]
            if in_service == self.in_service[u]:
                return True  # asking for the state it is in changes nothing
            if not in_service and self.committed_at(u) is not None and not force:
                return False
            self.in_service[u] = in_service
            return True
        raise AssertionError(name)


def _apply(op: tuple[Any, ...], units: list[Unit], incidents: list[Any], user: User) -> None:
    name, unit = op[0], units[op[1]]
    if name == "dispatch":
        dispatch_units(incidents[op[2]], [unit], user, reassign=op[3])
    elif name == "reserve":
        reserve_unit(incidents[op[2]], unit, user)
    elif name == "status":
        found = (
            Assignment.objects.filter(unit=unit, incident=incidents[op[2]])
            .exclude(status=S.CLEARED)
            .first()
        )
        if found is None:
            raise Conflict("no open assignment to change")
        change_status(found, op[3], user)
    else:
        set_in_service(unit, op[2], user, reason="" if op[2] else "test", force=op[3])


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=15))
def test_random_sequences_keep_the_database_the_model_and_the_board_in_agreement(
    agencies: dict[str, Agency], dispatcher: User, steps: list[tuple[Any, ...]]
) -> None:
    with transaction.atomic():
        _run(agencies, dispatcher, steps)
        transaction.set_rollback(True)


def _run(agencies: dict[str, Agency], user: User, steps: list[tuple[Any, ...]]) -> None:
    psap, troop = agencies["psap-csp-eastern"], agencies["csp-troop-c"]
    units = [make.unit(f"HYP-{n}", troop) for n in range(UNITS)]
    later = timezone.now() + timedelta(hours=2)
    incidents = [
        make.incident(psap, scheduled_for=later if n == SCHEDULED else None)
        for n in range(INCIDENTS)
    ]
    model = Model()
    thresholds = Thresholds([])
    for op in steps:
        allowed = model.expect(op)
        try:
            _apply(op, units, incidents, user)
            done = True
        except (Conflict, ValidationError):
            done = False
        assert done == allowed, op

        rows = Assignment.objects.exclude(status=S.CLEARED).values_list(
            "unit_id", "incident_id", "status"
        )
        unit_index = {unit.pk: n for n, unit in enumerate(units)}
        incident_index = {incident.pk: n for n, incident in enumerate(incidents)}
        actual = {(unit_index[u], incident_index[i]): S(s) for u, i, s in rows}
        assert actual == model.open, op
        committed = Counter(u for (u, _), s in actual.items() if s in COMMITTED_STATUSES)
        assert max(committed.values(), default=0) <= 1
        for n, unit in enumerate(units):
            unit.refresh_from_db()
            assert unit.in_service == model.in_service[n]
            unit.open_assignments = list(  # type: ignore[attr-defined]
                Assignment.objects.filter(unit=unit)
                .exclude(status=S.CLEARED)
                .select_related("incident")
            )
            expected = (
                UnitStatus.OUT_OF_SERVICE
                if not model.in_service[n]
                else UnitStatus.COMMITTED
                if model.committed_at(n) is not None
                else UnitStatus.AVAILABLE
            )
            assert board_row(unit, home=True, thresholds=thresholds).status == expected
    board = {row.call_sign: row.status for row in unit_board(user, scope="all")}
    assert all(board[f"HYP-{n}"] for n in range(UNITS))


# --- recommendation ------------------------------------------------------------------------

KINDS = ("troop_car", "police_car", "engine", "ladder", "als", "bls")
CAPS = ("aed", "extrication", "aerial")
unit_rows = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(0, 3),  # agency
        st.frozensets(st.sampled_from(CAPS)),
        st.booleans(),  # in service
        st.booleans(),  # emergency
        st.booleans(),  # committed
        st.one_of(st.none(), st.tuples(st.floats(41.0, 42.0), st.floats(-73.5, -72.0))),
    ),
    max_size=40,
)
lines = st.lists(
    st.tuples(
        st.frozensets(st.sampled_from(KINDS), min_size=1, max_size=2),
        st.integers(1, 3),
        st.sampled_from(("", *CAPS)),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(
    rows=unit_rows,
    plan_lines=lines,
    point=st.tuples(st.floats(41.0, 42.0), st.floats(-73.5, -72.0)),
    primary=st.frozensets(st.integers(0, 3)),
    on_incident=st.frozensets(st.integers(0, 39), max_size=3),
)
def test_random_fleets_and_plans_never_recommend_a_unit_that_cannot_go(
    rows: list[tuple[Any, ...]],
    plan_lines: list[tuple[Any, ...]],
    point: tuple[float, float],
    primary: frozenset[int],
    on_incident: frozenset[int],
) -> None:
    units = [
        UnitRow(
            id=n + 1,
            call_sign=f"U{n}",
            kind=kind,
            agency_id=agency + 100,
            agency_code=f"a{agency}",
            agency_name=f"Agency {agency}",
            capabilities=sorted(caps),
            in_service=in_service,
            emergency=emergency,
            lat=place[0] if place else None,
            lon=place[1] if place else None,
            position_source="avl" if place else "",
            committed_to=(7, "26-000007") if committed else None,
        )
        for n, (kind, agency, caps, in_service, emergency, committed, place) in enumerate(rows)
    ]
    assigned = {n + 1 for n in on_incident if n < len(units) and units[n].committed_to}
    fleet = build_fleet(units)
    plan = PlanSpec(
        "random", "statewide", tuple(LineSpec(tuple(sorted(k)), c, cap) for k, c, cap in plan_lines)
    )
    primary_ids = [a + 100 for a in primary]
    found = recommend_plan(
        fleet,
        plan,
        *point,
        primary_agency_ids={"police": primary_ids, "fire": primary_ids, "ems": primary_ids},
        on_incident=assigned,
    )

    by_id = {unit.id: unit for unit in units}
    picked = [pick.unit_id for pick in found.picks]
    assert len(picked) == len(set(picked))  # never twice
    for line, result in zip(plan.lines, found.lines, strict=True):
        assert len(result.picks) + result.unfilled == line.count
        for pick in result.picks:
            unit = by_id[pick.unit_id]
            assert unit.kind in line.kinds
            assert not line.capability or line.capability in unit.capabilities
            if not pick.already_assigned:
                assert unit.in_service and not unit.emergency and unit.committed_to is None
                assert unit.lat is not None
            else:
                assert pick.unit_id in assigned

        def eligible(unit: UnitRow, line: LineSpec = line) -> bool:
            return (
                unit.kind in line.kinds
                and (not line.capability or line.capability in unit.capabilities)
                and unit.in_service
                and not unit.emergency
                and unit.committed_to is None
                and unit.lat is not None
                and unit.id not in picked
            )

        left = [unit for unit in units if eligible(unit)]
        if result.unfilled:
            assert left == []  # nothing that could have filled the line was left behind
        if any(not p.primary and not p.already_assigned for p in result.picks):
            assert not [u for u in left if u.agency_id in primary_ids]
        line_picks = {pick.unit_id for pick in result.picks}
        for rejected in result.rejections:  # (another line may still pick it)
            assert rejected.unit_id not in line_picks
    for pick in found.picks:
        assert KIND_CODES.index(pick.kind) >= 0
