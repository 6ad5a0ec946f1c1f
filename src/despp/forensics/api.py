"""JSON API of the laboratory, /api/forensics/ (thin: scoped reads through the selectors,
every change through a service). Auth: bearer token or signed-in session (`staff_auth`).

Evidence (this module): submissions, intake, items, custody, labels. Lab work and reports:
api_lab.py, mounted on the same router. Errors are problem+json: 403 for a role that may not
act, 404 for a record outside the caller's scope, 409 for a state or custody conflict (nothing
written), 422 naming the invalid field.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from despp.core.api_auth import staff_auth
from despp.core.models import User
from despp.forensics import api_lab, selectors, services
from despp.forensics.api_out import (
    PDF_RESPONSE,
    agency_named,
    caller,
    disposition_out,
    event_out,
    item_out,
    location_named,
    pdf_response,
    request_summary,
    submission_summary,
    user_named,
)
from despp.forensics.api_schemas import (
    AcknowledgeIn,
    DisposeIn,
    DispositionOut,
    EventOut,
    ItemOut,
    ReasonIn,
    ReceiveIn,
    RecordId,
    SplitIn,
    SubmissionIn,
    SubmissionOut,
    SubmissionSummary,
    TransferIn,
)
from despp.forensics.models import SubmissionStatus
from despp.forensics.pdf import custody_pdf, labels_pdf

router = Router(auth=staff_auth)
router.add_router("", api_lab.router)
MAX_LIST = 200


class SubmissionQuery(Schema):
    status: SubmissionStatus | None = None
    case_number: str = Field("", max_length=40)
    limit: int = Field(50, ge=1, le=MAX_LIST)
    offset: int = Field(0, ge=0, le=1_000_000)


# --- submissions ------------------------------------------------------------------------------


@router.post(
    "/submissions",
    response={201: SubmissionOut},
    summary="Submit evidence: the case, its items and the examinations wanted",
    description="The submitting agency is the caller's. Items are numbered 1..n in the order "
    "given; each examination names its items by those numbers.",
)
def submit(request: HttpRequest, body: SubmissionIn) -> Status:
    user = caller(request)
    spec = services.SubmissionSpec(
        **body.model_dump(exclude={"items", "examinations"}),
        items=[services.ItemSpec(**item.model_dump()) for item in body.items],
        examinations=[
            services.ExamSpec(exam.examination, [number - 1 for number in exam.items])
            for exam in body.examinations
        ],
    )
    submission = services.submit_evidence(user, spec, request=request)
    return Status(201, _submission(user, submission.pk, request))


@router.get("/submissions", response=list[SubmissionSummary], summary="Submissions you may see")
def list_submissions(request: HttpRequest, query: Query[SubmissionQuery]) -> list[dict[str, Any]]:
    found = selectors.list_submissions(
        caller(request), request=request, status=query.status or "",
        case_number=query.case_number,
    )  # fmt: skip
    window = found[query.offset : query.offset + query.limit]
    return [submission_summary(submission) for submission in window]


def _submission(user: User, pk: int, request: HttpRequest) -> dict[str, Any]:
    submission = selectors.get_submission(user, pk, request=request)
    return {
        **submission_summary(submission),
        "offense_date": submission.offense_date,
        "officer_name": submission.officer_name,
        "officer_badge": submission.officer_badge,
        "court_date": submission.court_date,
        "notes": submission.notes,
        "items": [item_out(item) for item in selectors.submission_items(user, submission)],
        "requests": [
            request_summary(lab_request)
            for lab_request in selectors.submission_requests(user, submission)
        ],
    }


@router.get("/submissions/{submission_id}", response=SubmissionOut, summary="One submission")
def get_submission(request: HttpRequest, submission_id: RecordId) -> dict[str, Any]:
    return _submission(caller(request), submission_id, request)


@router.post(
    "/submissions/{submission_id}/receive",
    response=list[ItemOut],
    summary="Receive items against a submission (intake)",
    description="Each delivered item passes into the caller's custody with its seal's condition; "
    "an item not delivered (`received: false`) needs a discrepancy.",
)
def receive(request: HttpRequest, submission_id: RecordId, body: ReceiveIn) -> list[dict[str, Any]]:
    user = caller(request)
    submission = selectors.get_submission(user, submission_id, request=request)
    receipts = [
        services.Receipt(r.item, r.received, r.seal_intact, r.discrepancy) for r in body.receipts
    ]
    items = services.receive_items(user, submission, receipts, request=request)
    return [item_out(selectors.get_item(user, item.pk)) for item in items]


@router.get(
    "/submissions/{submission_id}/labels.pdf",
    summary="Labels for every item of a submission (PDF)",
    openapi_extra=PDF_RESPONSE,
)
def submission_labels(request: HttpRequest, submission_id: RecordId) -> HttpResponse:
    user = caller(request)
    submission = selectors.get_submission(user, submission_id, request=request)
    items = selectors.submission_items(user, submission)
    return pdf_response(labels_pdf(items), f"{submission.lab_number}-labels.pdf")


class LabelsQuery(Schema):
    item: list[RecordId] = Field(..., min_length=1, max_length=500, description="item ids")


@router.get(
    "/labels.pdf",
    summary="Labels for the items named (PDF)",
    openapi_extra=PDF_RESPONSE,
)
def labels(request: HttpRequest, query: Query[LabelsQuery]) -> HttpResponse:
    user = caller(request)
    items = [selectors.get_item(user, pk, request=request) for pk in dict.fromkeys(query.item)]
    return pdf_response(labels_pdf(items), "labels.pdf")


# --- items and custody ------------------------------------------------------------------------


@router.get("/items/{item_id}", response=ItemOut, summary="One item: where it is, who holds it")
def get_item(request: HttpRequest, item_id: RecordId) -> dict[str, Any]:
    return item_out(selectors.get_item(caller(request), item_id, request=request))


@router.get(
    "/items/{item_id}/custody",
    response=list[EventOut],
    summary="An item's chain of custody: every event with its hash",
)
def custody(request: HttpRequest, item_id: RecordId) -> list[dict[str, Any]]:
    _, events = selectors.custody_history(caller(request), item_id, request=request)
    return [event_out(event) for event in events]


@router.get(
    "/items/{item_id}/custody.pdf",
    summary="An item's chain of custody (PDF)",
    openapi_extra=PDF_RESPONSE,
)
def custody_document(request: HttpRequest, item_id: RecordId) -> HttpResponse:
    item, events = selectors.custody_history(caller(request), item_id, request=request)
    return pdf_response(custody_pdf(item, events), f"{item.barcode}-custody.pdf")


@router.post(
    "/items/{item_id}/transfer",
    response=ItemOut,
    summary="Start a transfer of custody",
    description="To a person (`to_user`, who acknowledges it) or into storage (`to_location` "
    "code, with a `witness` who confirms it). Only the holder may transfer (409 otherwise).",
)
def transfer(request: HttpRequest, item_id: RecordId, body: TransferIn) -> dict[str, Any]:
    user = caller(request)
    item = selectors.get_item(user, item_id, request=request)
    services.transfer_item(
        user,
        item,
        to_user=user_named("to_user", body.to_user),
        to_location=location_named("to_location", body.to_location),
        witness=user_named("witness", body.witness),
        reason=body.reason,
        seal_intact=body.seal_intact,
        note=body.note,
        request=request,
    )
    return item_out(selectors.get_item(user, item_id))


@router.post(
    "/items/{item_id}/acknowledge",
    response=ItemOut,
    summary="Acknowledge a transfer waiting for you (as receiver or witness)",
)
def acknowledge(request: HttpRequest, item_id: RecordId, body: AcknowledgeIn) -> dict[str, Any]:
    user = caller(request)
    item = selectors.get_item(user, item_id, request=request)
    services.acknowledge_transfer(
        user, item, seal_intact=body.seal_intact, note=body.note, request=request
    )
    return item_out(selectors.get_item(user, item_id))


@router.post(
    "/items/{item_id}/withdraw",
    response=ItemOut,
    summary="Withdraw (sender) or decline (receiver) a waiting transfer",
)
def withdraw(request: HttpRequest, item_id: RecordId, body: ReasonIn) -> dict[str, Any]:
    user = caller(request)
    item = selectors.get_item(user, item_id, request=request)
    services.withdraw_transfer(user, item, reason=body.reason, request=request)
    return item_out(selectors.get_item(user, item_id))


@router.post(
    "/items/{item_id}/split",
    response={201: list[ItemOut]},
    summary="Split an item you hold into sub-items",
)
def split(request: HttpRequest, item_id: RecordId, body: SplitIn) -> Status:
    user = caller(request)
    item = selectors.get_item(user, item_id, request=request)
    parts = [services.SubItemSpec(**part.model_dump()) for part in body.parts]
    children = services.split_item(user, item, parts, reason=body.reason, request=request)
    return Status(201, [item_out(selectors.get_item(user, child.pk)) for child in children])


@router.post(
    "/items/{item_id}/dispose",
    response={201: DispositionOut},
    summary="Return, retain or destroy an item",
    description="A return names the recipient and their agency (code); a destruction names a "
    "witness; a retention needs the item in storage.",
)
def dispose(request: HttpRequest, item_id: RecordId, body: DisposeIn) -> Status:
    user = caller(request)
    item = selectors.get_item(user, item_id, request=request)
    disposition = services.dispose_item(
        user,
        item,
        kind=body.kind,
        reason=body.reason,
        recipient_name=body.recipient_name,
        recipient_agency=agency_named("recipient_agency", body.recipient_agency),
        recipient_id_number=body.recipient_id_number,
        witness=user_named("witness", body.witness),
        retain_until=body.retain_until,
        request=request,
    )
    return Status(201, disposition_out(disposition))
