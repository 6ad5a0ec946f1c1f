"""Lab work on a request: assignment, analysis and results, the two reviews, release,
amendment and cancellation. Each step is a transition of `forensics.workflow` and an event on
`labrequest:<id>`; the request row is locked first, so two people taking the same step at
once cannot both succeed (the second gets a 409 naming what the first did).

Separation of duties: the technical reviewer is not the analyst; the administrative reviewer
is neither the analyst nor the technical reviewer; the report is released only after both
reviews approved the current results.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest

from despp.core.errors import Conflict
from despp.core.models import AuditAction, User
from despp.core.permissions import Action, can
from despp.forensics.events import Kind
from despp.forensics.models import (
    Instrument,
    Item,
    ItemStatus,
    LabRequest,
    LabRequestState,
    Method,
    MethodStatus,
    Report,
    ReportVersion,
    Result,
    Review,
    ReviewKind,
    ReviewOutcome,
)
from despp.forensics.services._common import (
    allow,
    audit_write,
    clean_text,
    display_name,
    field_error,
    in_section,
    lock_request,
    request_event,
    user_ref,
)
from despp.forensics.workflow import InvalidStep, Step, next_state

S = LabRequestState


def _step_allowed(lab_request: LabRequest, step: Step) -> None:
    try:
        next_state(lab_request.state, step)
    except InvalidStep as exc:
        raise Conflict(str(exc), current_state=lab_request.state) from exc


def _member(actor: User, lab_request: LabRequest) -> None:
    if not in_section(actor, lab_request.section_id):
        raise PermissionDenied(f"You do not work in the {lab_request.section} section.")


def _the_analyst(actor: User, lab_request: LabRequest) -> None:
    if lab_request.analyst_id != actor.pk:
        raise Conflict(
            "Only the assigned analyst can do this "
            f"({display_name(lab_request.analyst) if lab_request.analyst else 'nobody'} is).",
            current_state=lab_request.state,
        )


def assign_request(
    actor: User, lab_request: LabRequest, analyst: User, *, request: HttpRequest | None = None
) -> LabRequest:
    """Assign a request to an analyst of its section: an analyst takes it from the queue
    (analyst = actor, lab.analyze), or a section manager (lab.release) assigns or reassigns
    it. Race-safe: the row is locked and the state re-read, so of two people taking the same
    request the second gets a 409 naming who has it. 409 too while an item of the request
    has not been received."""
    if analyst.pk == actor.pk:
        allow(actor, Action.LAB_ANALYZE, request)
    else:
        allow(actor, Action.LAB_RELEASE, request)
    if not analyst.is_active or not can(analyst, Action.LAB_ANALYZE):
        raise field_error("analyst", f"{analyst.get_username()} is not a forensic analyst.")
    with transaction.atomic():
        lab_request = lock_request(lab_request.pk)
        _member(actor, lab_request)
        if not in_section(analyst, lab_request.section_id):
            raise field_error(
                "analyst", f"{analyst.get_username()} does not work in {lab_request.section}."
            )
        if lab_request.state == S.REQUESTED:
            step = Step.ASSIGN
        elif analyst.pk == actor.pk or not can(actor, Action.LAB_RELEASE):
            holder = lab_request.analyst
            raise Conflict(
                f"This request is already assigned to {display_name(holder) if holder else '-'}.",
                current_state=lab_request.state,
            )
        else:
            step = Step.REASSIGN
        _step_allowed(lab_request, step)
        if lab_request.analyst_id == analyst.pk:
            raise Conflict(f"This request is already assigned to {display_name(analyst)}.")
        waiting = lab_request.items.filter(status=ItemStatus.SUBMITTED)
        if waiting.exists():
            numbers = ", ".join(item.item_number for item in waiting)
            raise Conflict(f"Item(s) {numbers} of this request have not been received yet.")
        request_event(
            lab_request,
            Kind.REQUEST_ASSIGNED,
            {"step": step, "analyst": analyst.pk, "analyst_name": display_name(analyst),
             "assigned_by": user_ref(actor)},
            actor,
        )  # fmt: skip
        audit_write(AuditAction.UPDATE, actor, request, "lab_request", lab_request.pk, step=step)
    return lab_request


def start_analysis(
    actor: User, lab_request: LabRequest, *, request: HttpRequest | None = None
) -> LabRequest:
    """The assigned analyst starts work (assigned -> in analysis), or starts the rework of a
    request returned by a reviewer (returned -> in analysis)."""
    allow(actor, Action.LAB_ANALYZE, request)
    with transaction.atomic():
        lab_request = lock_request(lab_request.pk)
        _the_analyst(actor, lab_request)
        step = Step.RESTART if lab_request.state == S.RETURNED else Step.START
        _step_allowed(lab_request, step)
        kind = Kind.REQUEST_RESTARTED if step == Step.RESTART else Kind.REQUEST_STARTED
        request_event(lab_request, kind, {"step": step}, actor)
        audit_write(AuditAction.UPDATE, actor, request, "lab_request", lab_request.pk, step=step)
    return lab_request


def record_result(
    actor: User,
    lab_request: LabRequest,
    *,
    finding: str,
    method: Method,
    instrument: Instrument | None = None,
    item: Item | None = None,
    value: str = "",
    units: str = "",
    notes: str = "",
    supersedes: Result | None = None,
    request: HttpRequest | None = None,
) -> Result:
    """The assigned analyst records a finding, naming the method (which must be validated, of
    the request's section; its version is recorded), the instrument (in service, same
    section) and optionally the item. A corrected finding names the result it `supersedes`.
    The event is the record; the Result row is its read-only projection."""
    allow(actor, Action.LAB_ANALYZE, request)
    finding = clean_text("finding", finding, max_length=4000)
    value = clean_text("value", value, max_length=80, required=False)
    units = clean_text("units", units, max_length=30, required=False)
    notes = clean_text("notes", notes, max_length=8000, required=False)
    with transaction.atomic():
        lab_request = lock_request(lab_request.pk)
        _the_analyst(actor, lab_request)
        _step_allowed(lab_request, Step.RECORD_RESULT)
        if method.section_id != lab_request.section_id or method.status != MethodStatus.VALIDATED:
            raise field_error("method", f"{method} is not a validated method of this section.")
        if instrument is not None and (
            instrument.section_id != lab_request.section_id or not instrument.in_service
        ):
            raise field_error("instrument", f"{instrument} is not in service in this section.")
        if item is not None and not lab_request.items.filter(pk=item.pk).exists():
            raise field_error("item", f"Item {item.item_number} is not part of this request.")
        if supersedes is not None and (
            supersedes.lab_request_id != lab_request.pk or supersedes.superseded_by_id
        ):
            raise field_error("supersedes", "Not a current result of this request.")
        event = request_event(
            lab_request,
            Kind.RESULT_RECORDED,
            {
                "step": Step.RECORD_RESULT,
                "item": item.pk if item else None,
                "item_number": item.item_number if item else "",
                "finding": finding,
                "value": value,
                "units": units,
                "method": method.pk,
                "method_code": method.code,
                "method_name": method.name,
                "method_version": method.version,
                "instrument": instrument.pk if instrument else None,
                "instrument_tag": instrument.asset_tag if instrument else "",
                "instrument_name": instrument.name if instrument else "",
                "notes": notes,
                "analyst": actor.pk,
                "analyst_name": display_name(actor),
                "supersedes": supersedes.pk if supersedes else None,
                "supersedes_event": supersedes.event_id if supersedes else None,
            },
            actor,
        )
        result = Result.objects.create(
            lab_request=lab_request,
            item=item,
            finding=finding,
            value=value,
            units=units,
            method=method,
            method_version=method.version,
            instrument=instrument,
            notes=notes,
            analyst=actor,
            recorded_at=event.at,
            event=event,
        )
        if supersedes is not None:
            Result.objects.filter(pk=supersedes.pk).update(superseded_by=result)
        audit_write(AuditAction.CREATE, actor, request, "lab_request", lab_request.pk,
                    result=result.pk)  # fmt: skip
    return result


def complete_analysis(
    actor: User, lab_request: LabRequest, *, request: HttpRequest | None = None
) -> LabRequest:
    """The analyst hands the results in for review (in analysis -> results recorded).
    409 without at least one current result."""
    allow(actor, Action.LAB_ANALYZE, request)
    with transaction.atomic():
        lab_request = lock_request(lab_request.pk)
        _the_analyst(actor, lab_request)
        _step_allowed(lab_request, Step.COMPLETE)
        if not lab_request.results.filter(superseded_by__isnull=True).exists():
            raise Conflict("Record at least one result before handing the work in.")
        request_event(lab_request, Kind.REQUEST_COMPLETED, {"step": Step.COMPLETE}, actor)
        audit_write(AuditAction.UPDATE, actor, request, "lab_request", lab_request.pk,
                    step=Step.COMPLETE)  # fmt: skip
    return lab_request


_REVIEW_STEPS: dict[tuple[str, str], Step] = {
    (ReviewKind.TECHNICAL, ReviewOutcome.APPROVED): Step.TECHNICAL_APPROVE,
    (ReviewKind.TECHNICAL, ReviewOutcome.RETURNED): Step.TECHNICAL_RETURN,
    (ReviewKind.ADMINISTRATIVE, ReviewOutcome.APPROVED): Step.ADMINISTRATIVE_APPROVE,
    (ReviewKind.ADMINISTRATIVE, ReviewOutcome.RETURNED): Step.ADMINISTRATIVE_RETURN,
}


def _analysts_of(lab_request: LabRequest) -> set[int]:
    """Everyone who did the work: the assigned analyst and whoever recorded a result."""
    authors = set(lab_request.results.values_list("analyst_id", flat=True))
    return authors | ({lab_request.analyst_id} if lab_request.analyst_id else set())


def review_request(
    actor: User,
    lab_request: LabRequest,
    *,
    kind: str,
    outcome: str,
    comments: str = "",
    request: HttpRequest | None = None,
) -> Review:
    """Technical review (of recorded results) or administrative review (after the technical
    one), approving or returning for rework (comments required then). Needs lab.review and
    membership of the section. 409 when the reviewer did the work (analyst) or, for the
    administrative review, did the technical review; nothing is written then."""
    allow(actor, Action.LAB_REVIEW, request)
    if (kind, outcome) not in _REVIEW_STEPS:
        raise field_error("kind" if kind not in ReviewKind.values else "outcome", "Unknown value.")
    comments = clean_text(
        "comments", comments, max_length=4000, required=outcome == ReviewOutcome.RETURNED
    )
    step = _REVIEW_STEPS[(kind, outcome)]
    with transaction.atomic():
        lab_request = lock_request(lab_request.pk)
        _member(actor, lab_request)
        _step_allowed(lab_request, step)
        if actor.pk in _analysts_of(lab_request):
            raise Conflict(
                "Review refused: you did the analysis of this request, and a review must be "
                "made by someone else.",
                current_state=lab_request.state,
            )
        if kind == ReviewKind.ADMINISTRATIVE and actor.pk == lab_request.technical_reviewer_id:
            raise Conflict(
                "Review refused: you did the technical review of this request; the "
                "administrative review must be made by someone else.",
                current_state=lab_request.state,
            )
        event_kind = (
            Kind.REVIEW_TECHNICAL if kind == ReviewKind.TECHNICAL else Kind.REVIEW_ADMINISTRATIVE
        )
        event = request_event(
            lab_request,
            event_kind,
            {"step": step, "outcome": outcome, "comments": comments,
             "reviewer": actor.pk, "reviewer_name": display_name(actor)},
            actor,
        )  # fmt: skip
        review = Review.objects.create(
            lab_request=lab_request,
            kind=kind,
            outcome=outcome,
            reviewer=actor,
            comments=comments,
            at=event.at,
            event=event,
        )
        audit_write(AuditAction.UPDATE, actor, request, "lab_request", lab_request.pk, step=step)
    return review


def release_request(
    actor: User, lab_request: LabRequest, *, request: HttpRequest | None = None
) -> ReportVersion:
    """Release the report (lab.release, section member, not the analyst): a new frozen
    version of the request's report, made from the events (first release: version 1; after an
    amendment: the next version, with the amendment's reason). Refused (409, nothing written)
    unless both reviews approved the current results. Deliveries are planned in the same
    transaction and sent after commit (see `deliver_report`)."""
    from despp.forensics.services.reports import issue_version

    allow(actor, Action.LAB_RELEASE, request)
    with transaction.atomic():
        lab_request = lock_request(lab_request.pk)
        _member(actor, lab_request)
        missing = [
            label
            for label, reviewer in (
                ("technical review", lab_request.technical_reviewer_id),
                ("administrative review", lab_request.administrative_reviewer_id),
            )
            if reviewer is None
        ]
        if lab_request.state != S.ADMINISTRATIVE_REVIEW or missing:
            raise Conflict(
                "Release refused: a report is released only after both its technical and its "
                "administrative review approved the results"
                + (f"; still missing: {' and '.join(missing)}." if missing else "."),
                current_state=lab_request.state,
                missing_reviews=missing,
            )
        workers = _analysts_of(lab_request)
        reviewers = {lab_request.technical_reviewer_id, lab_request.administrative_reviewer_id}
        if len(reviewers) != 2 or reviewers & workers:
            raise Conflict("Release refused: the reviewers must be two people other than the "
                           "analyst.", current_state=lab_request.state)  # fmt: skip
        if actor.pk in workers:
            raise Conflict("Release refused: the analyst cannot authorise their own report.")
        version = issue_version(actor, lab_request)
        request_event(
            lab_request,
            Kind.REQUEST_RELEASED,
            {"step": Step.RELEASE, "report": version.report_id, "version": version.version},
            actor,
        )
        audit_write(AuditAction.CREATE, actor, request, "report", version.report_id,
                    version=version.version)  # fmt: skip
    return version


def amend_report(
    actor: User, report: Report, *, reason: str, request: HttpRequest | None = None
) -> LabRequest:
    """Open an amendment of a released report (lab.release): the request goes back into
    analysis with the reason; corrected results are recorded (superseding the old ones),
    reviewed twice again, and released as the next version. Every earlier version stays
    readable; the new one says what it amends and why."""
    allow(actor, Action.LAB_RELEASE, request)
    reason = clean_text("reason", reason, max_length=300)
    with transaction.atomic():
        lab_request = lock_request(report.lab_request_id)
        _member(actor, lab_request)
        _step_allowed(lab_request, Step.AMEND)
        request_event(
            lab_request,
            Kind.AMENDMENT_OPENED,
            {"step": Step.AMEND, "reason": reason, "report": report.pk,
             "from_version": report.current_version},
            actor,
        )  # fmt: skip
        audit_write(AuditAction.UPDATE, actor, request, "report", report.pk, amendment=reason)
    return lab_request


def cancel_request(
    actor: User, lab_request: LabRequest, *, reason: str, request: HttpRequest | None = None
) -> LabRequest:
    """A section manager (lab.release) cancels a request not yet started (the examination
    became unnecessary, or the submitter withdrew it)."""
    allow(actor, Action.LAB_RELEASE, request)
    reason = clean_text("reason", reason, max_length=300)
    with transaction.atomic():
        lab_request = lock_request(lab_request.pk)
        _member(actor, lab_request)
        _step_allowed(lab_request, Step.CANCEL)
        request_event(
            lab_request, Kind.REQUEST_CANCELLED, {"step": Step.CANCEL, "reason": reason}, actor
        )
        audit_write(AuditAction.UPDATE, actor, request, "lab_request", lab_request.pk,
                    step=Step.CANCEL)  # fmt: skip
    return lab_request
