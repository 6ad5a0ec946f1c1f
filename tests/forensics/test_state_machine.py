"""Property: whatever sequence of steps people attempt on a lab request, in whatever order and
by whoever, it only ever moves along the declared transition table, its projection equals a
replay of its events, a refused step writes nothing, and a released report always names two
different reviewers, neither of them the analyst."""

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from despp.core.errors import Conflict
from despp.core.models import Event
from despp.forensics import services
from despp.forensics.models import LabRequest, LabRequestState, Report
from despp.forensics.projections import request_differences
from despp.forensics.workflow import TRANSITIONS
from tests.forensics.conftest import Lab, only_request

PEOPLE = ("analyst", "reviewer", "manager", "dna_analyst", "intake")
STEPS = ("take", "assign", "start", "record", "complete", "tech_ok", "tech_back", "admin_ok",
         "admin_back", "release", "amend", "cancel")  # fmt: skip


# The path to a released report, and on to an amendment; examples mix it with random noise so
# that the later states are reached, not only the first few.
HAPPY = [("take", "analyst"), ("start", "analyst"), ("record", "analyst"),
         ("complete", "analyst"), ("tech_ok", "reviewer"), ("admin_ok", "manager"),
         ("release", "manager"), ("amend", "manager"), ("record", "analyst"),
         ("complete", "analyst"), ("tech_ok", "manager"), ("admin_ok", "reviewer"),
         ("release", "reviewer")]  # fmt: skip
ANY_ATTEMPT = st.tuples(st.sampled_from(STEPS), st.sampled_from(PEOPLE))


@st.composite
def attempt_sequences(draw: Any) -> list[tuple[str, str]]:
    if draw(st.booleans()):
        return draw(st.lists(ANY_ATTEMPT, max_size=30))
    sequence: list[tuple[str, str]] = []
    for step in HAPPY[: draw(st.integers(1, len(HAPPY)))]:
        sequence += draw(st.lists(ANY_ATTEMPT, max_size=2))
        sequence.append(step)
    return sequence


def _attempt(lab: Lab, step: str, who: str, lab_request: LabRequest) -> None:
    actor = getattr(lab, who)
    if step == "take":
        services.assign_request(actor, lab_request, actor)
    elif step == "assign":
        services.assign_request(actor, lab_request, lab.analyst)
    elif step == "start":
        services.start_analysis(actor, lab_request)
    elif step == "record":
        services.record_result(actor, lab_request, finding="Cocaine", method=lab.method)
    elif step == "complete":
        services.complete_analysis(actor, lab_request)
    elif step in {"tech_ok", "tech_back", "admin_ok", "admin_back"}:
        kind = "technical" if step.startswith("tech") else "administrative"
        outcome = "approved" if step.endswith("ok") else "returned"
        services.review_request(actor, lab_request, kind=kind, outcome=outcome, comments="c")
    elif step == "release":
        services.release_request(actor, lab_request)
    elif step == "amend":
        report = Report.objects.filter(lab_request=lab_request).first()
        if report is None:
            raise Conflict("no report yet")
        services.amend_report(actor, report, reason="correction")
    else:
        services.cancel_request(actor, lab_request, reason="not needed")


def _check_invariants(lab_request: LabRequest) -> None:
    events = list(Event.objects.filter(stream=lab_request.stream).order_by("position"))
    assert request_differences(lab_request, events) == []
    assert lab_request.state in LabRequestState.values
    reachable = {target for target in TRANSITIONS.values()} | {LabRequestState.REQUESTED}
    assert lab_request.state in reachable
    for version in Report.objects.filter(lab_request=lab_request).values_list(
        "versions__content", flat=True
    ):
        if version is None:
            continue
        technical = version["technical_review"]["name"]
        administrative = version["administrative_review"]["name"]
        assert technical != administrative
        assert not {technical, administrative} & set(version["analysts"])


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(attempts=attempt_sequences())
def test_random_step_sequences_never_reach_an_invalid_state(
    received: Any, lab: Lab, django_capture_on_commit_callbacks: Any,
    attempts: list[tuple[str, str]],
) -> None:  # fmt: skip
    with transaction.atomic():  # each example starts from the same received submission
        lab_request = only_request(received)
        for step, who in attempts:
            before = (Event.objects.count(), LabRequest.objects.filter(pk=lab_request.pk)
                      .values().get())  # fmt: skip
            try:
                with django_capture_on_commit_callbacks(execute=False):
                    _attempt(lab, step, who, lab_request)
            except (Conflict, PermissionDenied, ValidationError):
                after = (Event.objects.count(), LabRequest.objects.filter(pk=lab_request.pk)
                         .values().get())  # fmt: skip
                assert after == before, f"refused {step} by {who} wrote something"
            lab_request.refresh_from_db()
            _check_invariants(lab_request)
        event(f"ended {lab_request.state}")
        transaction.set_rollback(True)
