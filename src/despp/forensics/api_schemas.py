"""Request and response bodies of the laboratory API (explicit fields: no mass assignment)."""

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

from despp.forensics.models import (
    DeliveryChannel,
    DeliveryStatus,
    DispositionKind,
    ItemStatus,
    ItemType,
    LabRequestState,
    Packaging,
    Priority,
    ReviewKind,
    ReviewOutcome,
    SubmissionStatus,
)

MAX_ID = 2**31 - 1  # ids beyond this do not exist (and some databases cannot compare them)
RecordId = Annotated[int, Field(ge=1, le=MAX_ID)]
USERNAME = Field(..., min_length=1, max_length=150, description="a user's username")
CODE = Field(..., min_length=1, max_length=60)

# --- input ------------------------------------------------------------------------------------


class ItemIn(Schema):
    description: str = Field(..., min_length=1, max_length=300)
    item_type: ItemType
    packaging: Packaging
    seal_number: str = Field("", max_length=40)
    quantity: int = Field(1, ge=1, le=100_000)


class ExamIn(Schema):
    examination: str = Field(..., min_length=1, max_length=40, description="examination code")
    items: list[Annotated[int, Field(ge=1, le=500)]] = Field(
        ..., min_length=1, max_length=500, description="1-based numbers of the listed items"
    )


class SubmissionIn(Schema):
    case_number: str = Field(..., min_length=1, max_length=40)
    offense: str = Field(..., min_length=1, max_length=160)
    offense_date: date | None = None
    officer_name: str = Field("", max_length=120)
    officer_badge: str = Field("", max_length=20)
    officer_email: str = Field("", max_length=254)
    notify_emails: list[str] = Field(default_factory=list, max_length=10)
    priority: Priority = Priority.ROUTINE
    court_date: date | None = None
    notes: str = Field("", max_length=4000)
    items: list[ItemIn] = Field(..., min_length=1, max_length=500)
    examinations: list[ExamIn] = Field(..., min_length=1, max_length=50)


class ReceiptIn(Schema):
    item: int = Field(..., ge=1, le=MAX_ID, description="item id")
    received: bool = True
    seal_intact: bool = True
    discrepancy: str = Field("", max_length=1000)


class ReceiveIn(Schema):
    receipts: list[ReceiptIn] = Field(..., min_length=1, max_length=500)


class TransferIn(Schema):
    to_user: str | None = Field(None, min_length=1, max_length=150)
    to_location: str | None = Field(None, min_length=1, max_length=60)
    witness: str | None = Field(None, min_length=1, max_length=150)
    reason: str = Field(..., min_length=1, max_length=300)
    seal_intact: bool
    note: str = Field("", max_length=1000)


class AcknowledgeIn(Schema):
    seal_intact: bool | None = None
    note: str = Field("", max_length=1000)


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


class SubItemIn(Schema):
    description: str = Field(..., min_length=1, max_length=300)
    item_type: ItemType = ItemType.BIOLOGICAL
    packaging: Packaging = Packaging.ENVELOPE
    seal_number: str = Field("", max_length=40)
    quantity: int = Field(1, ge=1, le=100_000)


class SplitIn(Schema):
    parts: list[SubItemIn] = Field(..., min_length=1, max_length=50)
    reason: str = Field(..., min_length=1, max_length=300)


class DisposeIn(Schema):
    kind: DispositionKind
    reason: str = Field(..., min_length=1, max_length=300)
    recipient_name: str = Field("", max_length=120)
    recipient_agency: str | None = Field(None, min_length=1, max_length=60, description="code")
    recipient_id_number: str = Field("", max_length=40)
    witness: str | None = Field(None, min_length=1, max_length=150)
    retain_until: date | None = None


class AssignIn(Schema):
    analyst: str = USERNAME


class ResultIn(Schema):
    finding: str = Field(..., min_length=1, max_length=4000)
    method: str = Field(..., min_length=1, max_length=40, description="method code")
    method_version: str | None = Field(None, min_length=1, max_length=20)
    instrument: str | None = Field(None, min_length=1, max_length=40, description="asset tag")
    item: int | None = Field(None, ge=1, le=MAX_ID, description="item id")
    value: str = Field("", max_length=80)
    units: str = Field("", max_length=30)
    notes: str = Field("", max_length=8000)
    supersedes: int | None = Field(
        None, ge=1, le=MAX_ID, description="id of the result this corrects"
    )


class ReviewIn(Schema):
    kind: ReviewKind
    outcome: ReviewOutcome
    comments: str = Field("", max_length=4000)


# --- output -----------------------------------------------------------------------------------


class PersonOut(Schema):
    username: str
    name: str


class ItemOut(Schema):
    id: int
    barcode: str
    item_number: str
    parent: int | None
    description: str
    item_type: ItemType
    packaging: Packaging
    seal_number: str
    quantity: int
    status: ItemStatus
    holder: PersonOut | None
    location: str | None
    seal_intact: bool | None
    received_at: datetime | None
    discrepancy: str
    pending_to: PersonOut | None
    pending_location: str | None
    pending_witness: PersonOut | None


class LabRequestSummary(Schema):
    id: int
    examination: str
    examination_name: str
    section: str
    state: LabRequestState
    analyst: PersonOut | None
    priority: Priority
    requested_at: datetime
    released_at: datetime | None
    report: int | None


class SubmissionSummary(Schema):
    id: int
    lab_number: str
    case_number: str
    offense: str
    agency: str
    status: SubmissionStatus
    priority: Priority
    submitted_at: datetime
    received_at: datetime | None


class SubmissionOut(SubmissionSummary):
    offense_date: date | None
    officer_name: str
    officer_badge: str
    court_date: date | None
    notes: str
    items: list[ItemOut]
    requests: list[LabRequestSummary]


class EventOut(Schema):
    seq: int
    position: int
    at: datetime
    actor: str
    kind: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class ResultOut(Schema):
    id: int
    item: int | None
    finding: str
    value: str
    units: str
    method: str
    method_version: str
    instrument: str | None
    notes: str
    analyst: PersonOut
    recorded_at: datetime
    superseded_by: int | None


class ReviewOut(Schema):
    id: int
    kind: ReviewKind
    outcome: ReviewOutcome
    reviewer: PersonOut
    comments: str
    at: datetime


class LabRequestOut(LabRequestSummary):
    lab_number: str
    items: list[int]
    technical_reviewer: PersonOut | None
    administrative_reviewer: PersonOut | None
    amendment_reason: str
    allowed_steps: list[str]
    results: list[ResultOut]
    reviews: list[ReviewOut]
    history: list[EventOut]


class DispositionOut(Schema):
    id: int
    item: int
    kind: DispositionKind
    recipient_name: str
    recipient_agency: str | None
    witness: PersonOut | None
    retain_until: date | None
    reason: str
    at: datetime


class DeliveryOut(Schema):
    id: int
    version: int
    channel: DeliveryChannel
    recipient: str
    status: DeliveryStatus
    failure_reason: str
    attempts: int
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class VersionOut(Schema):
    report: int
    number: str
    version: int
    current: bool
    amendment_reason: str
    released_by: PersonOut
    released_at: datetime


class VersionDetailOut(VersionOut):
    content: dict[str, Any]


class ReportOut(Schema):
    id: int
    number: str
    lab_request: int
    lab_number: str
    examination_name: str
    current_version: int
    versions: list[VersionOut]
