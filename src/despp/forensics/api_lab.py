"""JSON API of the lab work and reports (joined to the laboratory router in api.py):
requests and their queue, assignment, results, reviews, release, amendment, cancellation;
reports, their versions (JSON and PDF) and their deliveries."""

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from despp.core.api_auth import staff_auth
from despp.forensics import selectors, services
from despp.forensics.api_out import (
    PDF_RESPONSE,
    caller,
    delivery_out,
    instrument_named,
    method_named,
    pdf_response,
    report_out,
    request_out,
    request_summary,
    result_out,
    review_out,
    user_named,
    version_out,
)
from despp.forensics.api_schemas import (
    AssignIn,
    DeliveryOut,
    LabRequestOut,
    LabRequestSummary,
    ReasonIn,
    RecordId,
    ReportOut,
    ResultIn,
    ResultOut,
    ReviewIn,
    ReviewOut,
    VersionDetailOut,
    VersionOut,
)
from despp.forensics.models import LabRequest, LabRequestState, Result, SectionCode
from despp.forensics.pdf import report_pdf

router = Router(auth=staff_auth)


class RequestQuery(Schema):
    section: SectionCode | None = None
    state: LabRequestState | None = None
    open: bool = Field(False, description="only requests not yet released or cancelled")
    mine: bool = Field(False, description="only requests assigned to the caller")
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


def _request(request: HttpRequest, pk: int) -> dict[str, Any]:
    lab_request = selectors.get_lab_request(caller(request), pk, request=request)
    return request_out(lab_request, selectors.request_history(lab_request))


def _scoped(request: HttpRequest, pk: int) -> LabRequest:
    return selectors.get_lab_request(caller(request), pk, request=request)


@router.get("/requests", response=list[LabRequestSummary], summary="Lab requests you may see")
def list_requests(request: HttpRequest, query: Query[RequestQuery]) -> list[dict[str, Any]]:
    user = caller(request)
    found = selectors.list_requests(
        user, request=request, section=query.section or "", state=query.state or "",
        analyst=user if query.mine else None, open_only=query.open,
    ).select_related("report")  # fmt: skip
    return [request_summary(r) for r in found[query.offset : query.offset + query.limit]]


@router.get(
    "/requests/{request_id}",
    response=LabRequestOut,
    summary="One lab request: state, steps allowed now, results, reviews, history",
)
def get_request(request: HttpRequest, request_id: RecordId) -> dict[str, Any]:
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/assign",
    response=LabRequestOut,
    summary="Take a request (analyst = you) or assign it (section manager)",
)
def assign(request: HttpRequest, request_id: RecordId, body: AssignIn) -> dict[str, Any]:
    lab_request = _scoped(request, request_id)  # 403 / 404 before anything else
    analyst = user_named("analyst", body.analyst)
    if analyst is None:
        raise _invalid("analyst", "Name the analyst.")
    services.assign_request(caller(request), lab_request, analyst, request=request)
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/start",
    response=LabRequestOut,
    summary="Start the analysis (or the rework of a returned request)",
)
def start(request: HttpRequest, request_id: RecordId) -> dict[str, Any]:
    services.start_analysis(caller(request), _scoped(request, request_id), request=request)
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/results",
    response={201: ResultOut},
    summary="Record a result (method version, instrument, finding)",
)
def add_result(request: HttpRequest, request_id: RecordId, body: ResultIn) -> Status:
    lab_request = _scoped(request, request_id)
    item = None
    if body.item is not None:
        item = selectors.submission_items(caller(request), lab_request.submission).filter(
            pk=body.item
        ).first()  # fmt: skip
        if item is None:
            raise _invalid("item", "Not an item of this request's submission.")
    supersedes = None
    if body.supersedes is not None:
        supersedes = Result.objects.filter(pk=body.supersedes, lab_request=lab_request).first()
        if supersedes is None:
            raise _invalid("supersedes", "Not a result of this request.")
    result = services.record_result(
        caller(request),
        lab_request,
        finding=body.finding,
        method=method_named(body.method, body.method_version),
        instrument=instrument_named(body.instrument),
        item=item,
        value=body.value,
        units=body.units,
        notes=body.notes,
        supersedes=supersedes,
        request=request,
    )
    return Status(201, result_out(result))


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


@router.post(
    "/requests/{request_id}/complete",
    response=LabRequestOut,
    summary="Hand the results in for technical review",
)
def complete(request: HttpRequest, request_id: RecordId) -> dict[str, Any]:
    services.complete_analysis(caller(request), _scoped(request, request_id), request=request)
    return _request(request, request_id)


@router.post(
    "/requests/{request_id}/review",
    response={201: ReviewOut},
    summary="Technical or administrative review: approve, or return for rework",
    description="Refused (409) to the analyst, and for the administrative review to the "
    "technical reviewer.",
)
def review(request: HttpRequest, request_id: RecordId, body: ReviewIn) -> Status:
    done = services.review_request(
        caller(request), _scoped(request, request_id), kind=body.kind, outcome=body.outcome,
        comments=body.comments, request=request,
    )  # fmt: skip
    return Status(201, review_out(done))


@router.post(
    "/requests/{request_id}/release",
    response={201: VersionOut},
    summary="Release the report (refused, 409, without both reviews)",
)
def release(request: HttpRequest, request_id: RecordId) -> Status:
    version = services.release_request(caller(request), _scoped(request, request_id),
                                       request=request)  # fmt: skip
    return Status(201, version_out(version))


@router.post(
    "/requests/{request_id}/cancel",
    response=LabRequestOut,
    summary="Cancel a request not yet started (section manager)",
)
def cancel(request: HttpRequest, request_id: RecordId, body: ReasonIn) -> dict[str, Any]:
    services.cancel_request(caller(request), _scoped(request, request_id), reason=body.reason,
                            request=request)  # fmt: skip
    return _request(request, request_id)


# --- reports ----------------------------------------------------------------------------------


@router.get("/reports", response=list[ReportOut], summary="Released reports you may see")
def list_reports(
    request: HttpRequest,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> list[dict[str, Any]]:
    reports = selectors.list_reports(caller(request), request=request)[offset : offset + limit]
    return [report_out(r, list(selectors.report_versions(r))) for r in reports]


@router.get("/reports/{report_id}", response=ReportOut, summary="One report and its versions")
def get_report(request: HttpRequest, report_id: RecordId) -> dict[str, Any]:
    report = selectors.get_report(caller(request), report_id, request=request)
    return report_out(report, list(selectors.report_versions(report)))


@router.get(
    "/reports/{report_id}/versions",
    response=list[VersionOut],
    summary="Every version of a report, newest first (earlier ones stay readable)",
)
def versions(request: HttpRequest, report_id: RecordId) -> list[dict[str, Any]]:
    report = selectors.get_report(caller(request), report_id, request=request)
    return [version_out(v) for v in selectors.report_versions(report)]


@router.get(
    "/reports/{report_id}/versions/{version}",
    response=VersionDetailOut,
    summary="One version of a report with its full content",
)
def version_detail(request: HttpRequest, report_id: RecordId, version: RecordId) -> dict[str, Any]:
    found = selectors.get_report_version(caller(request), report_id, version, request=request)
    return version_out(found, content=True)


@router.get(
    "/reports/{report_id}/versions/{version}/pdf",
    summary="One version of a report (PDF)",
    openapi_extra=PDF_RESPONSE,
)
def version_pdf(request: HttpRequest, report_id: RecordId, version: RecordId) -> HttpResponse:
    found = selectors.get_report_version(caller(request), report_id, version, request=request)
    return pdf_response(report_pdf(found), f"{found.report.number}-v{found.version}.pdf")


@router.get(
    "/reports/{report_id}/pdf",
    summary="The current version of a report (PDF)",
    openapi_extra=PDF_RESPONSE,
)
def current_pdf(request: HttpRequest, report_id: RecordId) -> HttpResponse:
    report = selectors.get_report(caller(request), report_id, request=request)
    found = selectors.get_report_version(caller(request), report_id, report.current_version)
    return pdf_response(report_pdf(found), f"{report.number}-v{found.version}.pdf")


@router.get(
    "/reports/{report_id}/deliveries",
    response=list[DeliveryOut],
    summary="Who each version went to, and why a delivery failed",
)
def deliveries(request: HttpRequest, report_id: RecordId) -> list[dict[str, Any]]:
    report = selectors.get_report(caller(request), report_id, request=request)
    return [delivery_out(d) for d in selectors.report_deliveries(report)]


@router.post(
    "/reports/{report_id}/deliver",
    response=list[DeliveryOut],
    summary="Send (retry) the current version's undelivered e-mails",
)
def deliver(request: HttpRequest, report_id: RecordId) -> list[dict[str, Any]]:
    user = caller(request)
    report = selectors.get_report(user, report_id, request=request)
    current = selectors.get_report_version(user, report_id, report.current_version)
    return [delivery_out(d) for d in services.deliver_report(user, current, request=request)]


@router.post(
    "/reports/{report_id}/amend",
    response=LabRequestOut,
    summary="Open an amendment: back to analysis; released again as the next version",
)
def amend(request: HttpRequest, report_id: RecordId, body: ReasonIn) -> dict[str, Any]:
    user = caller(request)
    report = selectors.get_report(user, report_id, request=request)
    lab_request = services.amend_report(user, report, reason=body.reason, request=request)
    return _request(request, lab_request.pk)
