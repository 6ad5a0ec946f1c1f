"""The assignment state machine and the unit status derived from it.

A unit's status on an incident is its Assignment's status; the table below is the only place
that says which change is allowed. A unit's overall status is derived from its assignments
and its `in_service` flag, never stored, so a change on one incident cannot touch another.

    reserved ─▶ dispatched ─▶ en_route ─▶ on_scene ─▶ transporting ─▶ at_hospital
        │            │            │           │              │              │
        └────────────┴────────────┴───────────┴──────────────┴──────────────┴──▶ cleared

A unit may also be cleared from any open status (recalled, cancelled en route), and go back
from en route to dispatched only by a new dispatch (not a transition: the assignment is
cleared and a new one made), so every stamp in an assignment's history is monotonic.
"""

from django.db import models

from despp.dispatch.models import COMMITTED_STATUSES, AssignmentStatus

S = AssignmentStatus

TRANSITIONS: dict[AssignmentStatus, frozenset[AssignmentStatus]] = {
    S.RESERVED: frozenset({S.DISPATCHED, S.CLEARED}),
    S.DISPATCHED: frozenset({S.EN_ROUTE, S.ON_SCENE, S.CLEARED}),
    S.EN_ROUTE: frozenset({S.ON_SCENE, S.CLEARED}),
    S.ON_SCENE: frozenset({S.TRANSPORTING, S.CLEARED}),
    S.TRANSPORTING: frozenset({S.AT_HOSPITAL, S.CLEARED}),
    S.AT_HOSPITAL: frozenset({S.CLEARED}),
    S.CLEARED: frozenset(),
}

# The Assignment field stamped when a status begins (NFPA intervals read these).
STAMP_FIELD: dict[AssignmentStatus, str] = {status: f"{status.value}_at" for status in S}


class InvalidTransition(Exception):
    """A status change the table does not allow; the API answers 409 with this message."""

    def __init__(self, unit: str, current: AssignmentStatus, wanted: AssignmentStatus) -> None:
        allowed = ", ".join(sorted(s.label for s in TRANSITIONS[current])) or "nothing"
        super().__init__(
            f"{unit} is {current.label.lower()} on this incident and cannot go to "
            f"{wanted.label.lower()}; from {current.label.lower()} it can go to: {allowed}."
        )
        self.current = current
        self.wanted = wanted


def check_transition(unit: str, current: AssignmentStatus, wanted: AssignmentStatus) -> None:
    if wanted not in TRANSITIONS[current]:
        raise InvalidTransition(unit, current, wanted)


class UnitStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    COMMITTED = "committed", "Committed"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


def derive_unit_status(in_service: bool, assignment_statuses: list[str]) -> UnitStatus:
    """Out of service wins; any committing assignment commits the unit; reserved does not."""
    if not in_service:
        return UnitStatus.OUT_OF_SERVICE
    if any(status in COMMITTED_STATUSES for status in assignment_statuses):
        return UnitStatus.COMMITTED
    return UnitStatus.AVAILABLE
