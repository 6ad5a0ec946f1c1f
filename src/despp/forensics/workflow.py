"""The lab request's state machine: the one table that says which step is allowed when.

    requested ─assign─▶ assigned ─start─▶ in_analysis ─complete─▶ results_recorded
        │                  │               ▲   │ record_result           │
        └──cancel──────────┴─▶ cancelled   │   └──(stays)         technical approve
                                           │                             ▼
                               restart ◀── returned ◀─return── technical_review
                                           ▲                             │
                                           └────────return──── administrative approve
                                                                         ▼
                   in_analysis ◀─amend── released ◀─release── administrative_review

A state names the last step completed. Who may take a step (roles, section, analyst ≠
reviewers) is checked by the services; this module only knows the order, so it stays pure
and a property test can walk it.
"""

from django.db import models

from despp.forensics.models import LabRequestState

S = LabRequestState


class Step(models.TextChoices):
    ASSIGN = "assign", "Assign to an analyst"
    REASSIGN = "reassign", "Reassign to another analyst"
    START = "start", "Start analysis"
    RECORD_RESULT = "record_result", "Record a result"
    COMPLETE = "complete", "Hand in results for review"
    TECHNICAL_APPROVE = "technical_approve", "Approve in technical review"
    TECHNICAL_RETURN = "technical_return", "Return from technical review"
    ADMINISTRATIVE_APPROVE = "administrative_approve", "Approve in administrative review"
    ADMINISTRATIVE_RETURN = "administrative_return", "Return from administrative review"
    RESTART = "restart", "Start rework"
    RELEASE = "release", "Release the report"
    AMEND = "amend", "Open an amendment"
    CANCEL = "cancel", "Cancel the request"


TRANSITIONS: dict[tuple[LabRequestState, Step], LabRequestState] = {
    (S.REQUESTED, Step.ASSIGN): S.ASSIGNED,
    (S.REQUESTED, Step.CANCEL): S.CANCELLED,
    (S.ASSIGNED, Step.REASSIGN): S.ASSIGNED,
    (S.ASSIGNED, Step.START): S.IN_ANALYSIS,
    (S.ASSIGNED, Step.CANCEL): S.CANCELLED,
    (S.IN_ANALYSIS, Step.REASSIGN): S.IN_ANALYSIS,
    (S.IN_ANALYSIS, Step.RECORD_RESULT): S.IN_ANALYSIS,
    (S.IN_ANALYSIS, Step.COMPLETE): S.RESULTS_RECORDED,
    (S.RESULTS_RECORDED, Step.TECHNICAL_APPROVE): S.TECHNICAL_REVIEW,
    (S.RESULTS_RECORDED, Step.TECHNICAL_RETURN): S.RETURNED,
    (S.TECHNICAL_REVIEW, Step.ADMINISTRATIVE_APPROVE): S.ADMINISTRATIVE_REVIEW,
    (S.TECHNICAL_REVIEW, Step.ADMINISTRATIVE_RETURN): S.RETURNED,
    (S.RETURNED, Step.REASSIGN): S.RETURNED,
    (S.RETURNED, Step.RESTART): S.IN_ANALYSIS,
    (S.ADMINISTRATIVE_REVIEW, Step.RELEASE): S.RELEASED,
    (S.RELEASED, Step.AMEND): S.IN_ANALYSIS,
}


def allowed_steps(state: LabRequestState | str) -> list[Step]:
    current = LabRequestState(state)
    return [step for (source, step) in TRANSITIONS if source == current]


class InvalidStep(Exception):
    """A step the table does not allow from the current state (the API answers 409)."""

    def __init__(self, state: LabRequestState, step: Step) -> None:
        allowed = ", ".join(s.label.lower() for s in allowed_steps(state)) or "nothing"
        super().__init__(
            f"The request is {state.label.lower()}: it cannot {step.label.lower()} now. "
            f"From here it can: {allowed}."
        )
        self.state = state
        self.step = step


def next_state(state: LabRequestState | str, step: Step) -> LabRequestState:
    current = LabRequestState(state)
    try:
        return TRANSITIONS[(current, step)]
    except KeyError:
        raise InvalidStep(current, step) from None
