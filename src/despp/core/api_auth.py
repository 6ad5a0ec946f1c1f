"""Authentication for the JSON API.

Routers that serve staff data use `staff_auth`: a bearer token (`Authorization: Bearer dsp_…`)
or the browser's signed-in session (with CSRF on unsafe methods, and the second factor when the
account owes one). A request that presents an Authorization header is judged on that header
alone: a bad token is a 401, it never falls back to the session.

    from despp.core.api_auth import staff_auth
    router = Router(auth=staff_auth)
"""

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from despp.core import tokens
from despp.core.middleware import is_verified
from despp.core.permissions import mfa_required

TOKEN_ATTR = "api_token"  # noqa: S105 - an attribute name, not a secret


class TokenAuth(HttpBearer):
    """Bearer tokens issued by `despp token create`; revocation takes effect at once."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header)
        if not header:
            return None
        scheme, _, credential = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise AuthenticationError(
                message="The Authorization header must read 'Bearer <token>'."
            )
        return self.authenticate(request, credential.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            found = tokens.authenticate_token(token, request=request)
        except tokens.TokenRejected as exc:
            raise AuthenticationError(message=str(exc)) from exc
        # Selectors and the audit read request.user; a token speaks for its user.
        request.user = found.user
        setattr(request, TOKEN_ATTR, found)
        return found.user


class StaffSessionAuth(SessionAuth):
    """The signed-in session, refused while a second factor is still owed."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if not user.is_authenticated or not user.is_active:
            return None
        if mfa_required(user) and not is_verified(user):
            return None
        return user


staff_auth = [TokenAuth(), StaffSessionAuth()]
