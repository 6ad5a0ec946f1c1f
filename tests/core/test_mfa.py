"""TOTP second factor: who must use it, enrolment, verification, and what it guards."""

from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from despp.core import tokens
from despp.core.models import AccessAudit, AuditAction, User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_hashing")]

PASSWORD = "quiet-river-stone-lamp"


def with_password(user: User) -> User:
    user.set_password(PASSWORD)
    user.save()
    return user


def password_step(client: Client, user: User, next_url: str = "") -> object:
    data = {"username": user.username, "password": PASSWORD, "acknowledge": "on"}
    if next_url:
        data["next"] = next_url
    return client.post("/staff/login/", data)


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


def wrong_code(device: TOTPDevice) -> str:
    return f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"


def forget_throttle(device: TOTPDevice) -> None:
    # django-otp makes a device wait 1 s after a wrong code; a test need not sleep through it.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)


def test_a_privileged_user_without_an_authenticator_must_enrol_before_any_staff_page(
    client, supervisor
):
    with_password(supervisor)
    response = password_step(client, supervisor)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/mfa/enrol/")
    for page in ("/staff/", "/staff/password/", "/admin/"):
        blocked = client.get(page)
        assert blocked.status_code == 302, page
        assert blocked["Location"].startswith("/staff/mfa/enrol/?next="), page


def test_enrolment_shows_a_qr_code_and_the_secret_and_a_right_code_turns_it_on(client, supervisor):
    with_password(supervisor)
    password_step(client, supervisor)
    page = client.get("/staff/mfa/enrol/")
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0")
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=supervisor, confirmed=False)
    secret = page.context["secret"].replace(" ", "")
    assert len(secret) == 32 and secret.isalnum()
    assert client.get("/staff/mfa/enrol/").context["secret"].replace(" ", "") == secret

    wrong = client.post("/staff/mfa/enrol/", {"code": wrong_code(device)})
    assert wrong.status_code == 400
    assert not TOTPDevice.objects.filter(user=supervisor, confirmed=True).exists()
    forget_throttle(device)

    done = client.post("/staff/mfa/enrol/", {"code": code_for(device)})
    assert done.status_code == 302 and done["Location"] == "/staff/"
    assert TOTPDevice.objects.filter(user=supervisor, confirmed=True).count() == 1
    assert client.get("/staff/").status_code == 200
    assert AccessAudit.objects.filter(action=AuditAction.CREATE, object_type="mfa_device").exists()


def test_with_an_authenticator_the_password_alone_does_not_sign_in(client, dispatcher):
    with_password(dispatcher)
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    response = password_step(client, dispatcher, next_url="/staff/password/")
    assert response["Location"] == "/staff/mfa/verify/?next=%2Fstaff%2Fpassword%2F"
    assert "_auth_user_id" not in client.session
    assert client.get("/staff/")["Location"].startswith("/staff/login/")
    assert not AccessAudit.objects.filter(action=AuditAction.LOGIN).exists()

    done = client.post("/staff/mfa/verify/", {"code": code_for(device), "next": "/staff/password/"})
    assert done.status_code == 302 and done["Location"] == "/staff/password/"
    assert client.session["_auth_user_id"] == str(dispatcher.pk)
    assert client.get("/staff/").status_code == 200
    login = AccessAudit.objects.get(action=AuditAction.LOGIN)
    assert login.detail == {"factors": ["password", "totp"], "system_use_notice": "acknowledged"}


def test_a_wrong_code_is_refused_and_audited_as_a_failed_log_on(client, dispatcher):
    with_password(dispatcher)
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    password_step(client, dispatcher)
    response = client.post("/staff/mfa/verify/", {"code": wrong_code(device)})
    assert response.status_code == 400
    assert b"That code is not right" in response.content
    assert "_auth_user_id" not in client.session
    failed = AccessAudit.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.username == "dispatcher" and failed.detail["factor"] == "totp"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 56"])
def test_a_code_that_is_not_six_digits_is_refused_without_counting(client, dispatcher, code):
    with_password(dispatcher)
    TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    password_step(client, dispatcher)
    response = client.post("/staff/mfa/verify/", {"code": code})
    assert response.status_code == 400
    assert not AccessAudit.objects.filter(action=AuditAction.LOGIN_FAILED).exists()


def test_a_code_cannot_be_used_twice(dispatcher):
    with_password(dispatcher)
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    code = code_for(device)
    first, second = Client(), Client()
    password_step(first, dispatcher)
    assert first.post("/staff/mfa/verify/", {"code": code}).status_code == 302
    password_step(second, dispatcher)
    assert second.post("/staff/mfa/verify/", {"code": code}).status_code == 400
    assert "_auth_user_id" not in second.session


def test_the_password_step_expires_after_five_minutes(client, dispatcher):
    with_password(dispatcher)
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    password_step(client, dispatcher)
    later = timezone.now() + timedelta(minutes=5, seconds=1)
    with mock.patch("despp.core.views.timezone.now", return_value=later):
        response = client.post("/staff/mfa/verify/", {"code": code_for(device)})
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")
    assert "_auth_user_id" not in client.session


def test_a_role_that_needs_no_second_factor_reaches_staff_home_with_the_password(
    client, coordinator
):
    with_password(coordinator)
    response = password_step(client, coordinator)
    assert response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_a_user_who_turned_mfa_on_voluntarily_is_always_asked_for_the_code(client, coordinator):
    with_password(coordinator)
    TOTPDevice.objects.create(user=coordinator, name="phone", confirmed=True)
    assert password_step(client, coordinator)["Location"].startswith("/staff/mfa/verify/")
    assert "_auth_user_id" not in client.session


def test_a_session_that_skipped_the_code_is_sent_to_verify_on_every_staff_page(auditor, sign_in):
    TOTPDevice.objects.create(user=auditor, name="phone", confirmed=True)
    client = sign_in(auditor, mfa=False)
    for page in ("/staff/", "/admin/core/accessaudit/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/mfa/verify/?next=")


def test_htmx_requests_owing_a_second_factor_get_an_hx_redirect(supervisor, sign_in):
    response = sign_in(supervisor, mfa=False).get("/staff/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith("/staff/mfa/enrol/")


def test_public_pages_stay_open_while_a_second_factor_is_owed(supervisor, sign_in):
    assert sign_in(supervisor, mfa=False).get("/").status_code == 200


def test_the_api_refuses_a_session_that_owes_a_second_factor(supervisor, sign_in):
    assert sign_in(supervisor, mfa=False).get("/api/me").status_code == 401
    assert sign_in(supervisor).get("/api/me").status_code == 200


def test_api_token_clients_need_no_second_factor(client, supervisor):
    issued = tokens.issue_token(supervisor, "cad bridge")
    response = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")
    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "token"


def test_a_second_enrolment_is_refused_once_an_authenticator_is_confirmed(supervisor, sign_in):
    client = sign_in(supervisor)  # the persona's authenticator is confirmed
    response = client.get("/staff/mfa/enrol/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/mfa/verify/")
    assert not TOTPDevice.objects.filter(user=supervisor, confirmed=False).exists()
