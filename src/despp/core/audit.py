"""Write the access audit (CJIS 5.4.1.1): one call per read or write of a non-public record,
per log-on attempt, per permission change. Reads of the audit itself are audited too."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from despp.core.models import AccessAudit, AuditAction, AuditOutcome


def client_ip(request: HttpRequest) -> str | None:
    # Behind a proxy only the proxy's own header is trusted (ASVS 4.1.3); never a client's.
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def record(
    action: AuditAction,
    *,
    request: HttpRequest | None = None,
    user: Any = None,
    object_type: str = "",
    object_id: object = "",
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    username: str = "",
    detail: dict[str, Any] | None = None,
) -> AccessAudit:
    if user is None and request is not None:
        user = getattr(request, "user", None)
    known_user = user if user is not None and getattr(user, "is_authenticated", False) else None
    agency = getattr(known_user, "agency", None)
    return AccessAudit.objects.create(
        at=timezone.now(),
        user=known_user,
        username=known_user.get_username() if known_user is not None else username,
        agency_code=agency.code if agency is not None else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        outcome=outcome,
        ip=client_ip(request) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:200] if request is not None else "",
        path=request.get_full_path()[:200] if request is not None else "",
        detail=detail or {},
    )
