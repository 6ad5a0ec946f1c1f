"""Turning laboratory records into the API's response bodies (and naming things in input)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja.errors import AuthenticationError

from despp.core.models import Agency, Event, User
from despp.forensics.models import (
    Disposition,
    Instrument,
    Item,
    LabRequest,
    Method,
    MethodStatus,
    Report,
    ReportDelivery,
    ReportVersion,
    Result,
    Review,
    StorageLocation,
    Submission,
)
from despp.forensics.workflow import allowed_steps

PDF_RESPONSE = {
    "responses": {
        200: {
            "description": "A PDF document",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def caller(request: HttpRequest) -> User:
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # staff_auth only ever yields a User; fail closed
        raise AuthenticationError()
    return user


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def person(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"username": user.get_username(), "name": user.get_full_name() or user.username}


def item_out(item: Item) -> dict[str, Any]:
    return {
        "id": item.pk,
        "barcode": item.barcode,
        "item_number": item.item_number,
        "parent": item.parent_id,
        "description": item.description,
        "item_type": item.item_type,
        "packaging": item.packaging,
        "seal_number": item.seal_number,
        "quantity": item.quantity,
        "status": item.status,
        "holder": person(item.holder),
        "location": item.location.path if item.location else None,
        "seal_intact": item.seal_intact,
        "received_at": item.received_at,
        "discrepancy": item.discrepancy,
        "pending_to": person(item.pending_to),
        "pending_location": item.pending_location.path if item.pending_location else None,
        "pending_witness": person(item.pending_witness),
    }


def request_summary(lab_request: LabRequest) -> dict[str, Any]:
    report = getattr(lab_request, "report", None) if lab_request.released_at else None
    return {
        "id": lab_request.pk,
        "examination": lab_request.examination_type.code,
        "examination_name": lab_request.examination_type.name,
        "section": lab_request.section.code,
        "state": lab_request.state,
        "analyst": person(lab_request.analyst),
        "priority": lab_request.priority,
        "requested_at": lab_request.requested_at,
        "released_at": lab_request.released_at,
        "report": report.pk if report is not None else None,
    }


def submission_summary(submission: Submission) -> dict[str, Any]:
    return {
        "id": submission.pk,
        "lab_number": submission.lab_number,
        "case_number": submission.case_number,
        "offense": submission.offense,
        "agency": submission.agency.code,
        "status": submission.status,
        "priority": submission.priority,
        "submitted_at": submission.submitted_at,
        "received_at": submission.received_at,
    }


def event_out(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "position": event.position,
        "at": event.at,
        "actor": event.actor_name,
        "kind": event.kind,
        "data": event.data,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def result_out(result: Result) -> dict[str, Any]:
    return {
        "id": result.pk,
        "item": result.item_id,
        "finding": result.finding,
        "value": result.value,
        "units": result.units,
        "method": result.method.code,
        "method_version": result.method_version,
        "instrument": result.instrument.asset_tag if result.instrument else None,
        "notes": result.notes,
        "analyst": person(result.analyst),
        "recorded_at": result.recorded_at,
        "superseded_by": result.superseded_by_id,
    }


def review_out(review: Review) -> dict[str, Any]:
    return {
        "id": review.pk,
        "kind": review.kind,
        "outcome": review.outcome,
        "reviewer": person(review.reviewer),
        "comments": review.comments,
        "at": review.at,
    }


def request_out(lab_request: LabRequest, history: list[Event]) -> dict[str, Any]:
    results = lab_request.results.select_related("method", "instrument", "analyst")
    reviews = lab_request.reviews.select_related("reviewer")
    return {
        **request_summary(lab_request),
        "lab_number": lab_request.submission.lab_number,
        "items": sorted(lab_request.items.values_list("pk", flat=True)),
        "technical_reviewer": person(lab_request.technical_reviewer),
        "administrative_reviewer": person(lab_request.administrative_reviewer),
        "amendment_reason": lab_request.amendment_reason,
        "allowed_steps": [step.value for step in allowed_steps(lab_request.state)],
        "results": [result_out(result) for result in results],
        "reviews": [review_out(review) for review in reviews],
        "history": [event_out(event) for event in history],
    }


def disposition_out(disposition: Disposition) -> dict[str, Any]:
    return {
        "id": disposition.pk,
        "item": disposition.item_id,
        "kind": disposition.kind,
        "recipient_name": disposition.recipient_name,
        "recipient_agency": (
            disposition.recipient_agency.code if disposition.recipient_agency else None
        ),
        "witness": person(disposition.witness),
        "retain_until": disposition.retain_until,
        "reason": disposition.reason,
        "at": disposition.at,
    }


def delivery_out(delivery: ReportDelivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "version": delivery.version.version,
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "status": delivery.status,
        "failure_reason": delivery.failure_reason,
        "attempts": delivery.attempts,
        "last_attempt_at": delivery.last_attempt_at,
        "delivered_at": delivery.delivered_at,
    }


def version_out(version: ReportVersion, *, content: bool = False) -> dict[str, Any]:
    out = {
        "report": version.report_id,
        "number": version.report.number,
        "version": version.version,
        "current": version.version == version.report.current_version,
        "amendment_reason": version.amendment_reason,
        "released_by": person(version.released_by),
        "released_at": version.released_at,
    }
    return out | {"content": version.content} if content else out


def report_out(report: Report, versions: list[ReportVersion]) -> dict[str, Any]:
    return {
        "id": report.pk,
        "number": report.number,
        "lab_request": report.lab_request_id,
        "lab_number": report.lab_request.submission.lab_number,
        "examination_name": report.lab_request.examination_type.name,
        "current_version": report.current_version,
        "versions": [version_out(version) for version in versions],
    }


# --- naming things in request bodies ----------------------------------------------------------


def _missing(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def user_named(field: str, username: str | None) -> User | None:
    if username is None:
        return None
    found = User.objects.filter(username=username, is_active=True).first()
    if found is None:
        raise _missing(field, f"No active user {username[:150]!r}.")
    return found


def location_named(field: str, code: str | None) -> StorageLocation | None:
    if code is None:
        return None
    found = StorageLocation.objects.filter(code=code).first()
    if found is None:
        raise _missing(field, f"No storage location {code[:60]!r}.")
    return found


def agency_named(field: str, code: str | None) -> Agency | None:
    if code is None:
        return None
    found = Agency.objects.filter(code=code).first()
    if found is None:
        raise _missing(field, f"No agency {code[:60]!r}.")
    return found


def method_named(code: str, version: str | None) -> Method:
    methods = Method.objects.filter(code=code)
    methods = methods.filter(version=version) if version else methods
    found = methods.filter(status=MethodStatus.VALIDATED).order_by("-id").first()
    if found is None:
        raise _missing("method", f"No validated method {code[:40]!r}.")
    return found


def instrument_named(tag: str | None) -> Instrument | None:
    if tag is None:
        return None
    found = Instrument.objects.filter(asset_tag=tag).first()
    if found is None:
        raise _missing("instrument", f"No instrument {tag[:40]!r}.")
    return found
