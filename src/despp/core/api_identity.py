"""API: the signed-in caller (`GET /api/me`) and the caller's own API tokens."""

from datetime import datetime
from typing import Literal

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Path, Router, Schema
from ninja.errors import AuthenticationError

from despp.core import tokens
from despp.core.api_auth import TOKEN_ATTR, staff_auth
from despp.core.models import ApiToken, User
from despp.core.permissions import actions_of, mfa_required, roles_of

router = Router(auth=staff_auth)


class AgencyOut(Schema):
    code: str
    name: str
    kind: str


class MeOut(Schema):
    username: str
    full_name: str
    agency: AgencyOut | None
    roles: list[str]
    actions: list[str]
    mfa_required: bool
    authenticated_by: Literal["token", "session"]


class TokenOut(Schema):
    prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _caller(request: HttpRequest) -> User:
    user = getattr(request, "auth", None)
    if not isinstance(user, User):  # staff_auth only ever yields a User; fail closed regardless
        raise AuthenticationError()
    return user


@router.get("/me", response=MeOut, summary="Who am I: agency, roles and permitted actions")
def me(request: HttpRequest) -> MeOut:
    user = _caller(request)
    agency = user.agency
    return MeOut(
        username=user.get_username(),
        full_name=user.get_full_name(),
        agency=AgencyOut(code=agency.code, name=agency.name, kind=agency.kind) if agency else None,
        roles=sorted(role.value for role in roles_of(user)),
        actions=sorted(action.value for action in actions_of(user)),
        mfa_required=mfa_required(user),
        authenticated_by="token" if hasattr(request, TOKEN_ATTR) else "session",
    )


@router.get("/tokens", response=list[TokenOut], summary="The caller's API tokens")
def list_tokens(request: HttpRequest) -> list[ApiToken]:
    return tokens.tokens_of(_caller(request))


@router.delete(
    "/tokens/{prefix}",
    response={204: None},
    summary="Revoke one of the caller's API tokens",
    description="`prefix` is the token's first 12 characters, as listed. Revoking twice is "
    "harmless. A token that is not the caller's is reported as not found.",
)
def revoke_token(
    request: HttpRequest,
    prefix: str = Path(..., pattern=r"^dsp_[A-Za-z0-9_-]{1,8}$", max_length=12),
) -> HttpResponse:
    user = _caller(request)
    try:
        token = tokens.find_token(prefix, owner=user)
    except tokens.TokenNotFound as exc:
        raise Http404(str(exc)) from exc
    tokens.revoke_token(token, actor=user, request=request)
    return HttpResponse(status=204)
