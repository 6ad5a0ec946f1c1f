"""Session controls: the idle lock (CJIS 5.5.5) and MFA enforcement (CJIS v6.0 IA-2).

The idle clock counts what a person does. A console that polls (HTMX, header
`X-Despp-Passive: 1`), listens to a live feed (`Accept: text/event-stream`), or calls a path in
`DESPP_PASSIVE_PATH_PREFIXES` does not keep the session alive, or a dispatch screen left on a
desk would never lock. A session also ends after `SESSION_COOKIE_AGE` however busy it is,
and when the same account signs in somewhere else (CJIS 5.5.2.2: one session per user), unless
one of the user's roles is listed in `DESPP_CONCURRENT_SESSION_ROLES` (the agency's documented
override). An account that reaches CJI whose password is older than a year is sent to change it.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core.models import User
from despp.core.permissions import CJI_ROLES, mfa_required, roles_of

LAST_ACTIVITY_KEY = "despp_last_activity"
SIGNED_IN_KEY = "despp_signed_in_at"
LOGIN_STAMP_KEY = "despp_last_login"
ENDED_REASON_KEY = "despp_session_ended"
LOGOUT_REASON_ATTR = "despp_logout_reason"
# Writing the session on every click costs a database write; moving the clock at most every
# few seconds only ever ends a session sooner, never later.
_CLOCK_GRANULARITY_SECONDS = 5
_SAME_SIGN_IN_SECONDS = 1.0

IDLE = "idle"
LIFETIME = "lifetime"
SUPERSEDED = "superseded"

# Public pages and the API (whose session auth checks MFA itself; tokens are issued to vetted
# clients) are not redirected to the second-factor pages.
MFA_EXEMPT_NAMESPACES = frozenset({"portal", "api"})


def _now() -> float:
    return timezone.now().timestamp()


def start_session_clock(request: HttpRequest) -> None:
    now = _now()
    request.session[SIGNED_IN_KEY] = now
    request.session[LAST_ACTIVITY_KEY] = now
    # Wall-clock time of this sign-in, to compare with the account's last_login (see below).
    request.session[LOGIN_STAMP_KEY] = timezone.now().timestamp()


def is_passive(request: HttpRequest) -> bool:
    if request.headers.get("X-Despp-Passive") == "1":
        return True
    if "text/event-stream" in request.headers.get("Accept", ""):
        return True
    prefixes: list[str] = getattr(settings, "DESPP_PASSIVE_PATH_PREFIXES", [])
    return any(request.path.startswith(prefix) for prefix in prefixes)


def _superseded(session: Any, user: User) -> bool:
    """Whether the account signed in again after this session did.

    Django stamps `last_login` at every sign-in, within a moment of this session's own stamp
    (its receiver may run just before or just after ours), so only a stamp clearly newer than
    ours can come from another sign-in.
    """
    stamp = session.get(LOGIN_STAMP_KEY)
    if stamp is None or user.last_login is None:
        return False
    if user.last_login.timestamp() - stamp <= _SAME_SIGN_IN_SECONDS:
        return False
    allowed: list[str] = getattr(settings, "DESPP_CONCURRENT_SESSION_ROLES", [])
    return not any(role.value in allowed for role in roles_of(user))


def _expiry_reason(session: Any, now: float, user: User) -> str | None:
    if _superseded(session, user):
        return SUPERSEDED
    last = session.get(LAST_ACTIVITY_KEY)
    if last is not None and now - last > settings.DESPP_IDLE_MINUTES * 60:
        return IDLE
    started = session.get(SIGNED_IN_KEY)
    if started is not None and now - started > settings.SESSION_COOKIE_AGE:
        return LIFETIME
    return None


def end_session(request: HttpRequest, reason: str) -> None:
    """Log the user out; the logout receiver audits it with `reason`."""
    setattr(request, LOGOUT_REASON_ATTR, reason)
    logout(request)
    # Survives in the fresh anonymous session so the sign-in page can say why.
    request.session[ENDED_REASON_KEY] = reason


def _login_url(request: HttpRequest) -> str:
    target = request.headers.get("HX-Current-URL") or request.get_full_path()
    return f"{reverse('core:login')}?{urlencode({'next': target})}"


class _EitherModeMiddleware:
    """Runs natively in both WSGI and ASGI stacks, so live feeds (async views) under uvicorn
    do not pay for a sync hop at this layer; the database work goes through sync_to_async."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self.before(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        answer = await sync_to_async(self.before)(request)
        return answer or await self.get_response(request)

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None


class IdleSessionMiddleware(_EitherModeMiddleware):
    def before(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return None
        now = _now()
        session = request.session
        reason = _expiry_reason(session, now, user)
        if reason is not None:
            end_session(request, reason)
            if request.headers.get("HX-Request") == "true":
                # An HTMX swap would paste the sign-in page into a panel; move the page.
                response = HttpResponse(status=200)
                response["HX-Redirect"] = _login_url(request)
                return response
        elif session.get(LAST_ACTIVITY_KEY) is None:
            start_session_clock(request)
        elif (
            not is_passive(request)
            and now - session[LAST_ACTIVITY_KEY] >= _CLOCK_GRANULARITY_SECONDS
        ):
            session[LAST_ACTIVITY_KEY] = now
        return None


def mfa_exempt(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view reachable before the second factor (sign-in, MFA pages, sign-out)."""
    view.mfa_exempt = True  # type: ignore[attr-defined]
    return view


def is_verified(user: Any) -> bool:
    """Whether this session passed the second factor (django-otp's OTPMiddleware sets it)."""
    check = getattr(user, "is_verified", None)
    return bool(check()) if check is not None else False


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def _staff_page(request: HttpRequest, view_func: Callable[..., HttpResponse], mark: str) -> bool:
    """A page these controls guard: not public, not the API, not marked exempt with `mark`."""
    if getattr(view_func, mark, False):
        return False
    match = request.resolver_match
    return match is None or not MFA_EXEMPT_NAMESPACES.intersection(match.namespaces)


def _send_to(request: HttpRequest, view_name: str) -> HttpResponse:
    url = f"{reverse(view_name)}?{urlencode({'next': request.get_full_path()})}"
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class MfaRequiredMiddleware(_EitherModeMiddleware):
    """Send a signed-in user who owes a second factor to the verify (or enrol) page.

    Applies to every staff page and the admin; fails closed for views nobody thought about.
    (Django runs `process_view` in the stack's mode, adapting it as needed.)
    """

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if not _staff_page(request, view_func, "mfa_exempt"):
            return None
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated or is_verified(user):
            return None
        device = confirmed_device(user)
        if device is None and not mfa_required(user):
            return None
        return _send_to(request, "core:mfa-verify" if device is not None else "core:mfa-enrol")


def password_expired(user: User) -> bool:
    """CJIS v6.0 IA-5(1): the password of an account that reaches CJI (or a superuser's)
    changes at least every DESPP_PASSWORD_MAX_AGE_DAYS. Other accounts follow OWASP ASVS
    6.2.10 and never expire. An account whose password was never set here (no date) is not
    forced."""
    max_days: int = settings.DESPP_PASSWORD_MAX_AGE_DAYS
    if not max_days or user.password_changed_at is None:
        return False
    if not user.is_superuser and not roles_of(user) & CJI_ROLES:
        return False
    return timezone.now() - user.password_changed_at > timedelta(days=max_days)


class PasswordAgeMiddleware(_EitherModeMiddleware):
    """Send a person whose password is past its age to change it before anything else."""

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if not _staff_page(request, view_func, "password_age_exempt") or getattr(
            view_func, "mfa_exempt", False
        ):
            return None
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated or not password_expired(user):
            return None
        return _send_to(request, "core:password-change")


def password_age_exempt(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view reachable with an expired password (the password change itself)."""
    view.password_age_exempt = True  # type: ignore[attr-defined]
    return view
