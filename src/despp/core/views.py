"""Sign-in with the CJIS system-use notice, the TOTP second factor, sign-out, password change,
the lockout page and the staff home page.

Sign-in runs in two steps for an account with an authenticator: the password step only
remembers who passed it (for five minutes, the CJIS one-time-password lifetime); the account is
signed in, and `user_logged_in` fires, once the code is right. A wrong code counts as a failed
log-on, so five of them lock the account exactly like five wrong passwords.
"""

from base64 import b32encode
from typing import Any

import segno
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core import audit, middleware
from despp.core.middleware import (
    confirmed_device,
    is_verified,
    mfa_exempt,
    password_age_exempt,
    password_expired,
)
from despp.core.models import AuditAction, AuditOutcome, User
from despp.core.permissions import Action, actions_of, mfa_required, roles_of
from despp.core.signals import LOGIN_FACTORS_ATTR, NOTICE_ATTR, acting

PENDING_KEY = "despp_mfa_pending"
# CJIS 5.6.2.1.3: a one-time password not used within five minutes expires.
PENDING_SECONDS = 5 * 60

SYSTEM_USE_NOTICE = (
    "You are accessing a restricted information system of the Department of Emergency Services "
    "and Public Protection, provided for authorized use only. It holds Criminal Justice "
    "Information. Use of this system may be monitored, recorded and audited. Unauthorized use is "
    "prohibited and may be subject to criminal and civil penalties. By using this system you "
    "consent to monitoring and recording."
)
ENDED_MESSAGES = {
    middleware.IDLE: "You were signed out after {minutes} minutes without activity.",
    middleware.LIFETIME: "Your session reached its maximum length. Sign in again to continue.",
    middleware.SUPERSEDED: (
        "You were signed out here because your account signed in somewhere else. Each "
        "account may hold one session at a time."
    ),
}


class SignInForm(AuthenticationForm):
    acknowledge = forms.BooleanField(
        required=True,
        label="I have read the notice above and agree to its terms.",
        error_messages={"required": "Confirm that you have read the system-use notice."},
    )

    def clean(self) -> dict[str, Any]:
        # No acknowledgement, no attempt: the password is not even checked (nor counted).
        if not self.cleaned_data.get("acknowledge"):
            return self.cleaned_data
        return super().clean()


class CodeForm(forms.Form):
    code = forms.RegexField(
        regex=r"^\s*\d{6}\s*$",
        label="6-digit code from your authenticator app",
        error_messages={
            "required": "Enter the 6-digit code from your authenticator app.",
            "invalid": "The code is 6 digits, like 123456.",
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "class": "input"}
        ),
    )

    def token(self) -> str:
        return str(self.cleaned_data["code"]).strip()


class StaffPasswordChangeForm(PasswordChangeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "input"


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("core:home")


def _requested_next(request: HttpRequest) -> str:
    return _safe_next(request, request.POST.get("next") or request.GET.get("next"))


def _to(view_name: str, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse(view_name)}?{urlencode({'next': next_url})}")


def _now() -> float:
    return timezone.now().timestamp()


def _pending_user(request: HttpRequest) -> tuple[User, str] | None:
    pending = request.session.get(PENDING_KEY)
    if not pending:
        return None
    if _now() - pending["at"] > PENDING_SECONDS:
        del request.session[PENDING_KEY]
        return None
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    return (user, pending["backend"]) if user is not None else None


def _fully_signed_in(request: HttpRequest) -> bool:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return is_verified(user) or (not mfa_required(user) and confirmed_device(user) is None)


@mfa_exempt
@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    ended = request.session.pop(middleware.ENDED_REASON_KEY, None)
    next_url = _requested_next(request)
    if request.method == "GET" and _fully_signed_in(request):
        return HttpResponseRedirect(next_url)
    form = SignInForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        device = confirmed_device(user)
        if device is not None:
            request.session.cycle_key()  # the half-signed-in state gets a fresh session key
            request.session[PENDING_KEY] = {
                "user": user.pk,
                # authenticate() notes which backend accepted the password
                "backend": getattr(user, "backend", ""),
                "at": _now(),
            }
            return _to("core:mfa-verify", next_url)
        setattr(request, NOTICE_ATTR, True)
        login(request, user)
        if mfa_required(user):
            return _to("core:mfa-enrol", next_url)
        return HttpResponseRedirect(next_url)
    context = {
        "form": form,
        "next": next_url,
        "notice": SYSTEM_USE_NOTICE,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "ended": ENDED_MESSAGES.get(ended or "", "").format(minutes=settings.DESPP_IDLE_MINUTES),
    }
    return render(request, "core/login.html", context, status=400 if form.errors else 200)


def _check_code(form: CodeForm, device: TOTPDevice) -> bool | None:
    """True when the code is right; False when wrong; None when the device must wait first.

    django-otp doubles a device's wait after each wrong code (1 s, 2 s, 4 s ...); a code sent
    during the wait is not checked at all.
    """
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        form.add_error("code", "Too many wrong codes. Wait a moment, then try the next code.")
        return None
    if device.verify_token(form.token()):
        return True
    form.add_error("code", "That code is not right. Try the code now showing in your app.")
    return False


@mfa_exempt
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    pending = _pending_user(request)
    next_url = _requested_next(request)
    if pending is not None:
        user, backend = pending
    elif isinstance(request.user, User) and request.user.is_authenticated:
        user, backend = request.user, request.session.get(BACKEND_SESSION_KEY, "")
    else:
        return _to("core:login", next_url)
    device = confirmed_device(user)
    if device is None:
        return _to("core:login", next_url)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not AxesProxyHandler.is_allowed(request, {"username": user.get_username()}):
            # AxesMiddleware swaps this answer for the lockout page.
            setattr(request, "axes_locked_out", True)  # noqa: B010
            return HttpResponse(status=429)
        verdict = _check_code(form, device)
        if verdict:
            if pending is not None:
                request.session.pop(PENDING_KEY, None)
                setattr(request, LOGIN_FACTORS_ATTR, ["password", "totp"])
                setattr(request, NOTICE_ATTR, True)
                login(request, user, backend=backend)
            otp_login(request, device)
            return HttpResponseRedirect(next_url)
        if verdict is False:
            # Counts toward the CJIS lockout like a wrong password (django-axes listens).
            user_login_failed.send(
                sender=__name__,
                credentials={"username": user.get_username()},
                request=request,
                factor="totp",
            )
    status = 400 if form.errors else 200
    return render(request, "core/mfa_verify.html", {"form": form, "next": next_url}, status=status)


def _qr_svg(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff"))


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@mfa_exempt
@login_required
@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    next_url = _requested_next(request)
    if confirmed_device(user) is not None:
        # Replacing an authenticator is an administrator's job (ASVS 7.5.1: no self-service
        # change of the second factor on the strength of a password alone).
        return _to("core:mfa-verify", next_url)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and _check_code(form, device):
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        otp_login(request, device)
        audit.record(
            AuditAction.CREATE,
            request=request,
            object_type="mfa_device",
            object_id=device.pk,
            detail={"kind": "totp"},
        )
        messages.success(request, "Two-step verification is set up.")
        return HttpResponseRedirect(next_url)
    secret = b32encode(device.bin_key).decode("ascii")
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": _qr_svg(device.config_url),
        "secret": _grouped(secret),
        "required": mfa_required(user),
    }
    return render(request, "core/mfa_enrol.html", context, status=400 if form.errors else 200)


@mfa_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def sign_out(request: HttpRequest) -> HttpResponse:
    # Signing out changes state, so it takes a POST (ASVS 3.5.3); GET shows a button.
    if request.method == "POST":
        request.session.pop(PENDING_KEY, None)
        logout(request)
        return redirect(settings.LOGOUT_REDIRECT_URL)
    return render(request, "core/logout.html")


@password_age_exempt
@login_required
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = StaffPasswordChangeForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            with acting(request):
                form.save()  # the user post_save receiver audits it
            update_session_auth_hash(request, user)
            messages.success(request, "Your password has been changed.")
            return HttpResponseRedirect(_requested_next(request))
        audit.record(
            AuditAction.PASSWORD_CHANGE,
            request=request,
            object_type="user",
            object_id=user.pk,
            outcome=AuditOutcome.FAILURE,
            detail={"fields": sorted(form.errors)},
        )
    context = {
        "form": form,
        "next": _requested_next(request),
        "expired": password_expired(user),
        "max_age_days": settings.DESPP_PASSWORD_MAX_AGE_DAYS,
    }
    return render(request, "core/password_change.html", context, status=400 if form.errors else 200)


AREA_TITLES = {
    "call": "911 calls",
    "incident": "CAD incidents",
    "unit": "Units",
    "report": "Reports",
    "records": "Records",
    "evidence": "Evidence",
    "lab": "Laboratory",
    "course": "Training",
    "credential": "Certification",
    "accreditation": "Accreditation",
    "eoc": "Emergency operations",
    "alert": "Public alerts",
    "audit": "Audit",
    "reference": "Reference data",
    "user": "Accounts",
    "statewide": "Scope",
}


def _actions_by_area(actions: frozenset[Action]) -> list[tuple[str, list[Action]]]:
    areas: dict[str, list[Action]] = {}
    for action in Action:  # declaration order keeps related actions together
        if action in actions:
            area = action.value.split(".")[0]
            areas.setdefault(AREA_TITLES.get(area, area.capitalize()), []).append(action)
    return list(areas.items())


def _workspaces(actions: frozenset[Action]) -> list[tuple[str, str]]:
    """(label, URL) of each app workspace the user may open; apps declare theirs as
    `staff_links = ((action, label, URL name), ...)` on their AppConfig."""
    links = []
    for config in django_apps.get_app_configs():
        for action, label, url_name in getattr(config, "staff_links", ()):
            if Action(action) in actions:
                links.append((label, reverse(url_name)))
    return links


@login_required
@never_cache
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {
        "workspaces": _workspaces(actions_of(user)),
        "roles": sorted(roles_of(user), key=lambda role: role.label),
        "areas": _actions_by_area(actions_of(user)),
        "has_device": confirmed_device(user) is not None,
        "mfa_required": mfa_required(user),
        "idle_minutes": settings.DESPP_IDLE_MINUTES,
    }
    return render(request, "core/home.html", context)


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' lockout answer (AXES_LOCKOUT_CALLABLE); the lockout itself is audited by
    the `user_locked_out` receiver."""
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    context = {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}
    response = render(request, "core/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


urlpatterns: list[Any] = [
    path("", home, name="home"),
    path("login/", sign_in, name="login"),
    path("logout/", sign_out, name="logout"),
    path("mfa/verify/", mfa_verify, name="mfa-verify"),
    path("mfa/enrol/", mfa_enrol, name="mfa-enrol"),
    path("password/", password_change, name="password-change"),
]
