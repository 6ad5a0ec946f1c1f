"""Per-client API tokens: issued once in plain text, stored as a SHA-256 digest, revocable.

A token reads `dsp_` + 43 URL-safe characters (256 random bits). Because it carries that much
entropy, a plain SHA-256 digest is enough to store it (unlike a password, it cannot be guessed
from a dictionary), and looking it up by digest is a single indexed query. The first 12
characters are kept as a prefix so people can tell their tokens apart and revoke one.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit, eventlog
from despp.core.models import ApiToken, AuditAction, AuditOutcome, User

TOKEN_SCHEME = "dsp_"  # noqa: S105 - the public scheme prefix, not a secret
PREFIX_LENGTH = 12
_TOKEN_RE = re.compile(r"dsp_[A-Za-z0-9_-]{43}")
_PREFIX_RE = re.compile(r"dsp_[A-Za-z0-9_-]{1,8}")
_NAME_MAX = ApiToken._meta.get_field("name").max_length or 80
# Recording every use would turn each API read into a write; a minute's precision is plenty
# for "is this client still in use?".
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenRejection(models.TextChoices):
    MALFORMED = "malformed", "The token is not in the expected format."
    UNKNOWN = "unknown", "The token is not recognised."
    REVOKED = "revoked", "The token has been revoked."
    INACTIVE_USER = "inactive_user", "The token's account is disabled."


class TokenRejected(Exception):
    def __init__(self, reason: TokenRejection) -> None:
        super().__init__(reason.label)
        self.reason = reason


class TokenNotFound(Exception):
    pass


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str


def digest_of(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("ascii")).hexdigest()


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise ValidationError({"name": "Give the token a name that says which client holds it."})
    if len(cleaned) > _NAME_MAX:
        raise ValidationError({"name": f"Use at most {_NAME_MAX} characters."})
    return cleaned


def issue_token(
    user: User,
    name: str,
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
    actor_label: str = "",
) -> IssuedToken:
    """Create a token for `user`; the plain text exists only in the returned value."""
    cleaned = _clean_name(name)
    if not user.is_active:
        raise ValidationError({"username": "This account is disabled; it cannot hold tokens."})
    plaintext = TOKEN_SCHEME + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=cleaned, prefix=plaintext[:PREFIX_LENGTH], digest=digest_of(plaintext)
        )
        detail = {"op": "issue", "prefix": token.prefix, "name": cleaned, "for": user.username}
        _record(token, "token.issued", detail, actor=actor, request=request, label=actor_label)
    return IssuedToken(token=token, plaintext=plaintext)


def find_token(prefix: str, *, owner: User | None = None) -> ApiToken:
    """The one token with this prefix (of the owner, when given), else TokenNotFound."""
    if not _PREFIX_RE.fullmatch(prefix):
        raise TokenNotFound(f"{prefix!r} is not a token prefix (it starts with {TOKEN_SCHEME}).")
    tokens = ApiToken.objects.select_related("user").filter(prefix__startswith=prefix)
    if owner is not None:
        tokens = tokens.filter(user=owner)
    found = list(tokens[:2])
    if not found:
        raise TokenNotFound(f"No token starts with {prefix!r}.")
    if len(found) > 1:
        raise TokenNotFound(f"More than one token starts with {prefix!r}; give more of it.")
    return found[0]


def revoke_token(
    token: ApiToken,
    *,
    actor: User | None = None,
    request: HttpRequest | None = None,
    actor_label: str = "",
) -> bool:
    """Revoke now. Returns False when it was already revoked (nothing is written then)."""
    now = timezone.now()
    with transaction.atomic():
        # The conditional UPDATE makes two revocations racing each other record only once.
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not changed:
            return False
        token.revoked_at = now
        detail = {"op": "revoke", "prefix": token.prefix, "name": token.name}
        _record(token, "token.revoked", detail, actor=actor, request=request, label=actor_label)
    return True


def authenticate_token(plaintext: str, *, request: HttpRequest | None = None) -> ApiToken:
    """The live token for this plain text, with its user loaded; TokenRejected otherwise.

    Every rejection is audited as a failed log-on (CJIS 5.4.1.1 item 1).
    """
    try:
        token = _live_token(plaintext)
    except TokenRejected as exc:
        audit.record(
            AuditAction.LOGIN_FAILED,
            request=request,
            user=None,
            object_type="api_token",
            object_id=_prefix_for_audit(plaintext),
            outcome=AuditOutcome.FAILURE,
            detail={"factor": "api_token", "reason": exc.reason.value},
        )
        raise
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _live_token(plaintext: str) -> ApiToken:
    if not _TOKEN_RE.fullmatch(plaintext):
        raise TokenRejected(TokenRejection.MALFORMED)
    token = (
        ApiToken.objects.select_related("user", "user__agency")
        .filter(digest=digest_of(plaintext))
        .first()
    )
    if token is None:
        raise TokenRejected(TokenRejection.UNKNOWN)
    if token.revoked_at is not None:
        raise TokenRejected(TokenRejection.REVOKED)
    if not token.user.is_active:
        raise TokenRejected(TokenRejection.INACTIVE_USER)
    return token


def _prefix_for_audit(plaintext: str) -> str:
    # Only a well-formed token's public prefix is written down, never what a caller sent.
    return plaintext[:PREFIX_LENGTH] if _TOKEN_RE.fullmatch(plaintext) else ""


def tokens_of(user: Any) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user).order_by("-created_at"))


def _record(
    token: ApiToken,
    kind: str,
    detail: dict[str, str],
    *,
    actor: User | None,
    request: HttpRequest | None,
    label: str,
) -> None:
    """A token's life is an event on its owner's stream and an entry in the access audit."""
    eventlog.append(f"user:{token.user_id}", kind, detail, actor=actor)
    audit.record(
        AuditAction.TOKEN,
        request=request,
        user=actor,
        username=label,
        object_type="api_token",
        object_id=token.pk,
        detail=detail,
    )
