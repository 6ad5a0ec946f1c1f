"""API: the access audit, searchable by auditors (`audit.read`).

GET /api/audit/entries returns one keyset page (newest first) and `next_cursor`; GET
/api/audit/entries.csv streams every match. A caller without `audit.read` gets 403 (a
function-level refusal, audited); every search is itself recorded in the audit.
"""

import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema
from ninja.errors import ValidationError
from pydantic import AwareDatetime, Field, field_validator

from despp.core.api_auth import staff_auth
from despp.core.models import AccessAudit, AuditAction, AuditOutcome
from despp.core.selectors_audit import (
    CURSOR_PATTERN,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    AuditFilters,
    AuditPage,
    InvalidFilter,
    export_rows,
    search,
)
from despp.core.views_audit import csv_response

router = Router(auth=staff_auth)
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _an_address(schema: dict[str, Any]) -> None:
    schema.pop("anyOf", None)
    schema.update(type="string", anyOf=[{"format": "ipv4"}, {"format": "ipv6"}])


class AuditQuery(Schema):
    username: str = Field("", max_length=150, description="exact user name")
    agency: str = Field("", max_length=60, description="agency code; includes those under it")
    action: AuditAction | None = None
    object_type: str = Field("", max_length=60)
    object_id: str = Field("", max_length=80)
    outcome: AuditOutcome | None = None
    since: AwareDatetime | None = Field(None, description="from this instant (inclusive)")
    until: AwareDatetime | None = Field(None, description="up to this instant (exclusive)")
    ip: str | None = Field(
        None, description="exact client address, IPv4 or IPv6", json_schema_extra=_an_address
    )

    @field_validator("since", "until", mode="before")
    @classmethod
    def written_as_a_date_time(cls, value: object) -> object:
        # pydantic would also take 0.5 as a Unix timestamp; the schema promises RFC 3339 text.
        if value is not None and not (isinstance(value, str) and _DATE_TIME.match(value)):
            raise ValueError("expected a date-time such as 2026-03-02T14:00:00Z")
        return value

    @field_validator("since", "until")
    @classmethod
    def representable_in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:  # 9999-12-31T23:00-05:00 is past the end of time
            raise ValueError("out of the representable range") from exc

    @field_validator("ip")
    @classmethod
    def an_address(cls, value: str | None) -> str | None:
        if value is not None:
            ipaddress.ip_address(value)  # its ValueError becomes a 422 naming `ip`
        return value

    def filters(self) -> AuditFilters:
        try:
            return AuditFilters(**self.model_dump(exclude={"ip"}), ip=self.ip or "")
        except InvalidFilter as exc:
            raise _invalid(exc) from exc


class PageQuery(Schema):
    cursor: str = Field(
        "",
        pattern=f"^$|{CURSOR_PATTERN}",
        description="`next_cursor` of the previous page; empty for the newest entries",
    )
    limit: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


class AuditEntryOut(Schema):
    id: int
    at: datetime
    username: str
    agency_code: str
    action: AuditAction
    object_type: str
    object_id: str
    outcome: AuditOutcome
    ip: str | None
    user_agent: str
    path: str
    detail: dict[str, Any]


class AuditPageOut(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next, older page")
    matching: int = Field(description="entries matching the filters, counted up to 10,000")
    matching_capped: bool = Field(description="true when more than `matching` entries match")


def _invalid(exc: InvalidFilter) -> ValidationError:
    return ValidationError([{"loc": ("query", exc.field), "msg": exc.message, "type": "invalid"}])


@router.get(
    "/entries",
    response=AuditPageOut,
    summary="Search the access audit",
    description="Entries newest first, scoped to the agencies the caller may see.",
)
def entries(
    request: HttpRequest, query: Query[AuditQuery], page: Query[PageQuery]
) -> dict[str, Any]:
    try:
        found: AuditPage = search(
            request.user, query.filters(), request=request, cursor=page.cursor, limit=page.limit
        )
    except InvalidFilter as exc:
        raise _invalid(exc) from exc
    items: list[AccessAudit] = found.entries
    return {
        "items": items,
        "next_cursor": found.next_cursor,
        "matching": found.matching,
        "matching_capped": found.matching_capped,
    }


@router.get(
    "/entries.csv",
    summary="Export the matching audit entries as CSV",
    description="Every matching entry, newest first; times in UTC.",
    openapi_extra={
        "responses": {
            200: {
                "description": "CSV, one row per entry",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def entries_csv(request: HttpRequest, query: Query[AuditQuery]) -> StreamingHttpResponse:
    return csv_response(export_rows(request.user, query.filters(), request=request))
