"""Search the access audit (CJIS 5.4.3 audit review), for auditors only.

`search` and `export_rows` refuse callers without `audit.read` (PermissionDenied, itself
audited), scope the rows to the agencies the caller may see, and record every search as an
AccessAudit entry of its own (AuditAction.SEARCH): reading the audit leaves a trace like any
other read of non-public records (CJIS 5.4.1.1 (5)).

Pages are keyset pages, newest first, so a page stays stable while new entries keep arriving
(offset pages would shift under an auditor's feet on a live system).
"""

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest

from despp.core import audit
from despp.core.models import AccessAudit, Agency, AuditAction, AuditOutcome
from despp.core.permissions import Action, require
from despp.core.scoping import agency_and_descendants, visible_agency_ids

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
COUNT_CAP = 10_000  # counting past this on a big audit table costs more than it tells
AUDIT_OBJECT_TYPE = "access_audit"


class InvalidFilter(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class AuditFilters:
    username: str = ""
    agency: str = ""  # an agency code; includes the agencies under it
    action: AuditAction | None = None
    object_type: str = ""
    object_id: str = ""
    outcome: AuditOutcome | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    ip: str = ""

    def __post_init__(self) -> None:
        # A period that ends before it starts is simply empty: it matches nothing.
        if self.ip:
            try:
                address = ipaddress.ip_address(self.ip)
            except ValueError as exc:
                raise InvalidFilter("ip", "Enter an IPv4 or IPv6 address.") from exc
            # Compare in the form the servers report addresses in (IPv6 compressed).
            object.__setattr__(self, "ip", str(address))

    def as_detail(self) -> dict[str, str]:
        """The filters as the audit entry of the search records them (only those set)."""
        values = asdict(self)
        return {
            name: value.isoformat() if isinstance(value, datetime) else str(value)
            for name, value in values.items()
            if value not in ("", None)
        }


@dataclass(frozen=True)
class AuditPage:
    entries: list[AccessAudit]
    next_cursor: str | None
    matching: int  # capped at COUNT_CAP
    matching_capped: bool


# A cursor names the last entry of a page: "<microseconds since 1970 UTC>_<id>". Any string of
# that shape is a valid position (so the API schema can state the format exactly).
CURSOR_PATTERN = r"^[0-9]{1,16}_[0-9]{1,18}$"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(entry: AccessAudit) -> str:
    return f"{(entry.at - _EPOCH) // timedelta(microseconds=1)}_{entry.pk}"


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    if re.fullmatch(CURSOR_PATTERN, cursor) is None:
        raise InvalidFilter("cursor", "This page link is not valid; start the search again.")
    micros, pk = cursor.split("_")
    return _EPOCH + timedelta(microseconds=int(micros)), int(pk)


def _scoped(user: Any) -> QuerySet[AccessAudit]:
    visible = visible_agency_ids(user)
    entries = AccessAudit.objects.all()
    if visible is None:
        return entries
    codes = Agency.objects.filter(pk__in=visible).values_list("code", flat=True)
    return entries.filter(agency_code__in=list(codes))


def _filtered(entries: QuerySet[AccessAudit], filters: AuditFilters) -> QuerySet[AccessAudit]:
    if filters.username:
        entries = entries.filter(username=filters.username)
    if filters.agency:
        agency = Agency.objects.filter(code=filters.agency).values_list("pk", flat=True).first()
        codes = (
            Agency.objects.filter(pk__in=agency_and_descendants(agency)).values_list(
                "code", flat=True
            )
            if agency is not None
            else [filters.agency]  # an agency since removed still names its old entries
        )
        entries = entries.filter(agency_code__in=list(codes))
    exact = {
        "action": filters.action,
        "object_type": filters.object_type,
        "object_id": filters.object_id,
        "outcome": filters.outcome,
        "ip": filters.ip,
    }
    entries = entries.filter(**{field: value for field, value in exact.items() if value})
    if filters.since:
        entries = entries.filter(at__gte=filters.since)
    if filters.until:
        entries = entries.filter(at__lt=filters.until)
    return entries


def _matching(user: Any, filters: AuditFilters) -> QuerySet[AccessAudit]:
    return _filtered(_scoped(user), filters).order_by("-at", "-id")


def search(
    user: Any,
    filters: AuditFilters,
    *,
    request: HttpRequest | None = None,
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> AuditPage:
    """One page of matching entries, newest first, and the cursor of the next (older) page."""
    require(user, Action.AUDIT_READ, request=request)
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    matching = _matching(user, filters)
    page_query = matching
    if cursor:
        at, pk = decode_cursor(cursor)
        page_query = matching.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))
    rows = list(page_query[: limit + 1])
    count = matching[: COUNT_CAP + 1].count()
    entries = rows[:limit]
    next_cursor = encode_cursor(entries[-1]) if len(rows) > limit else None
    _record_search(user, request, filters, {"cursor": cursor, "returned": len(entries)})
    return AuditPage(entries, next_cursor, min(count, COUNT_CAP), count > COUNT_CAP)


def export_rows(
    user: Any, filters: AuditFilters, *, request: HttpRequest | None = None
) -> Iterator[AccessAudit]:
    """Every matching entry, newest first, streamed from the database in chunks."""
    require(user, Action.AUDIT_READ, request=request)
    matching = _matching(user, filters)
    _record_search(user, request, filters, {"export": "csv"})
    return matching.iterator(chunk_size=2000)


def _record_search(
    user: Any, request: HttpRequest | None, filters: AuditFilters, extra: dict[str, Any]
) -> None:
    audit.record(
        AuditAction.SEARCH,
        request=request,
        user=user,
        object_type=AUDIT_OBJECT_TYPE,
        detail={"filters": filters.as_detail(), **{k: v for k, v in extra.items() if v != ""}},
    )
