"""Sign-in with the CJIS system-use notice, sign-out, password change and the staff home."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from despp.core.models import AccessAudit, AuditAction, AuditOutcome, User
from despp.core.permissions import MATRIX, Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_hashing")]

PASSWORD = "quiet-river-stone-lamp"
LOGIN = "/staff/login/"


def with_password(user: User) -> User:
    user.set_password(PASSWORD)
    user.save()
    return user


def test_the_sign_in_page_shows_the_system_use_notice_with_a_checkbox_to_acknowledge(client):
    page = client.get(LOGIN).content.decode()
    for phrase in (
        "restricted information system",
        "authorized use only",
        "monitored, recorded and audited",
        "Unauthorized use is prohibited",
        "criminal and civil penalties",
        "consent to monitoring",
    ):
        assert phrase in page
    assert 'type="checkbox" name="acknowledge"' in page
    assert 'autocomplete="current-password"' in page


def test_a_signed_in_person_reaches_staff_home_and_the_log_on_is_audited(client, coordinator):
    with_password(coordinator)
    response = client.post(
        LOGIN,
        {"username": "coordinator", "password": PASSWORD, "acknowledge": "on"},
        REMOTE_ADDR="10.20.30.40",
        HTTP_USER_AGENT="Console/1.0",
    )
    assert response.status_code == 302 and response["Location"] == "/staff/"
    login = AccessAudit.objects.get(action=AuditAction.LOGIN)
    assert login.username == "coordinator"
    assert login.agency_code == "post-academy"
    assert login.ip == "10.20.30.40" and login.user_agent == "Console/1.0"
    assert login.detail == {"factors": ["password"], "system_use_notice": "acknowledged"}


def test_a_wrong_password_gives_the_same_answer_for_a_real_and_an_unknown_name(client, coordinator):
    with_password(coordinator)
    wrong = client.post(LOGIN, {"username": "coordinator", "password": "x", "acknowledge": "on"})
    unknown = client.post(LOGIN, {"username": "nobody", "password": "x", "acknowledge": "on"})
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.context["form"].errors == unknown.context["form"].errors
    assert AccessAudit.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 2


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:1"])
def test_a_next_address_off_this_site_is_ignored(client, coordinator, target):
    with_password(coordinator)
    response = client.post(
        LOGIN,
        {"username": "coordinator", "password": PASSWORD, "acknowledge": "on", "next": target},
    )
    assert response["Location"] == "/staff/"


def test_a_signed_in_person_visiting_sign_in_goes_straight_on(coordinator, sign_in):
    response = sign_in(coordinator, mfa=False).get(LOGIN + "?next=/staff/password/")
    assert response.status_code == 302 and response["Location"] == "/staff/password/"


def test_staff_pages_send_anonymous_visitors_to_sign_in(client):
    for page in ("/staff/", "/staff/password/", "/staff/mfa/enrol/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/staff/login/?next=")


def test_the_admin_has_no_sign_in_of_its_own(client):
    response = client.get("/admin/login/?next=/admin/core/user/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/login/?next=%2Fadmin%2Fcore%2Fuser%2F"


def test_staff_home_lists_what_the_persons_roles_let_them_do(reviewer, sign_in):
    page = sign_in(reviewer).get("/staff/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Forensic reviewer" in text and "Forensic Science Laboratory" in text
    for action in MATRIX[Role.REVIEWER]:
        assert action.label in text
    assert "Approve or return submitted reports" not in text
    assert page["Cache-Control"].startswith("max-age=0")


def test_staff_home_tells_a_person_without_a_role_to_ask_for_one(norole, sign_in):
    text = sign_in(norole, mfa=False).get("/staff/").content.decode()
    assert "has no role yet" in text


def test_sign_out_takes_a_post(trooper, sign_in):
    client = sign_in(trooper)
    client.get("/staff/logout/")
    assert client.get("/staff/").status_code == 200
    assert client.post("/staff/logout/")["Location"] == "/"
    assert client.get("/staff/").status_code == 302


def test_a_password_change_is_held_to_the_validators_and_a_refusal_is_audited(coordinator, sign_in):
    with_password(coordinator)
    client = sign_in(coordinator, mfa=False)
    weak = {
        "short": "tiny-pass",
        "common": "passwordpassword",
        "numeric": "1234567890123456789",
        "context word": "my-connecticut-trooper-badge",
        "like the user name": "coordinator-test",
    }
    for new in weak.values():
        response = client.post(
            "/staff/password/",
            {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        )
        assert response.status_code == 400, new
    coordinator.refresh_from_db()
    assert coordinator.check_password(PASSWORD)
    refused = AccessAudit.objects.filter(
        action=AuditAction.PASSWORD_CHANGE, outcome=AuditOutcome.FAILURE
    )
    assert refused.count() == len(weak)
    assert all(entry.detail == {"fields": ["new_password2"]} for entry in refused)
    assert PASSWORD not in str(list(refused.values_list("detail", flat=True)))


def test_a_wrong_current_password_refuses_the_change(coordinator, sign_in):
    with_password(coordinator)
    new = "amber-quarry-violin-seven"
    response = sign_in(coordinator, mfa=False).post(
        "/staff/password/", {"old_password": "nope", "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 400
    refused = AccessAudit.objects.get(
        action=AuditAction.PASSWORD_CHANGE, outcome=AuditOutcome.FAILURE
    )
    assert refused.detail == {"fields": ["old_password"]}


def test_a_good_password_change_keeps_the_session_records_when_and_is_audited(coordinator, sign_in):
    with_password(coordinator)
    client = sign_in(coordinator, mfa=False)
    long_passphrase = "amber quarry violin seven " * 4  # ASVS 6.2.9: 64+ characters allowed
    response = client.post(
        "/staff/password/",
        {
            "old_password": PASSWORD,
            "new_password1": long_passphrase,
            "new_password2": long_passphrase,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200  # still signed in
    coordinator.refresh_from_db()
    assert coordinator.check_password(long_passphrase)
    assert coordinator.password_changed_at is not None
    # with_password() above was a change too, made outside any request: "(system)".
    changed = AccessAudit.objects.get(
        action=AuditAction.PASSWORD_CHANGE, outcome=AuditOutcome.SUCCESS, username="coordinator"
    )
    assert changed.ip == "127.0.0.1" and changed.object_id == str(coordinator.pk)


def test_account_creation_and_privilege_changes_are_audited_outside_any_request(agencies):
    user = User.objects.create(username="newhire")
    user.is_staff = True
    user.save()
    user.save(update_fields=["last_login"])  # nothing privileged changed: nothing recorded
    created = AccessAudit.objects.get(action=AuditAction.CREATE, object_type="user")
    assert created.username == "(system)" and created.object_id == str(user.pk)
    change = AccessAudit.objects.get(action=AuditAction.PERMISSION_CHANGE)
    assert change.detail["fields"] == {"is_staff": {"from": False, "to": True}}


def test_every_persona_can_open_staff_home(persona, sign_in):
    from tests.personas import PERSONAS

    for name in PERSONAS:
        client: Client = sign_in(persona(name))
        assert client.get("/staff/").status_code == 200, name


def test_every_area_of_the_matrix_has_a_heading_on_staff_home():
    from despp.core.permissions import Action
    from despp.core.views import AREA_TITLES

    assert {action.value.split(".")[0] for action in Action} <= set(AREA_TITLES)


def _password_set_days_ago(user: User, days: int) -> None:
    with_password(user)
    User.objects.filter(pk=user.pk).update(
        password_changed_at=timezone.now() - timedelta(days=days)
    )


def test_an_account_reaching_cji_with_a_year_old_password_must_change_it_first(trooper, sign_in):
    _password_set_days_ago(trooper, 366)
    client = sign_in(trooper)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == "/staff/password/?next=%2Fstaff%2F"
    page = client.get(response["Location"])
    assert "more than 365 days old" in page.content.decode()
    new = "amber-quarry-violin-seven"
    changed = client.post(
        "/staff/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new, "next": "/staff/"},
    )
    assert changed["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_a_fresh_password_and_an_account_without_cji_are_not_sent_to_change_it(
    trooper, coordinator, sign_in
):
    _password_set_days_ago(trooper, 300)
    _password_set_days_ago(coordinator, 5 * 365)  # OWASP ASVS 6.2.10: no forced rotation
    assert sign_in(trooper).get("/staff/").status_code == 200
    assert sign_in(coordinator, mfa=False).get("/staff/").status_code == 200


def test_password_age_can_be_turned_off(trooper, sign_in, settings):
    settings.DESPP_PASSWORD_MAX_AGE_DAYS = 0
    _password_set_days_ago(trooper, 1000)
    assert sign_in(trooper).get("/staff/").status_code == 200
