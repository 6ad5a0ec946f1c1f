"""CJIS 5.5.5: the session ends after 30 minutes of what a person does; polling, live feeds and
configured passive paths do not keep it alive; an absolute lifetime bounds every session."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.utils import timezone

from despp.core import middleware
from despp.core.models import AccessAudit, AuditAction

pytestmark = pytest.mark.django_db

PASSIVE = {"HTTP_X_DESPP_PASSIVE": "1"}
EVENT_STREAM = {"HTTP_ACCEPT": "text/event-stream"}


class Clock:
    """The idle clock's notion of now, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = timezone.now().timestamp()

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(middleware, "_now", lambda: clock.now)
    return clock


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_a_session_ends_after_thirty_idle_minutes_and_the_sign_in_page_says_why(
    clock, trooper, sign_in
):
    client = sign_in(trooper)
    clock.advance(31)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/")
    assert not is_signed_in(client)
    page = client.get(response["Location"])
    assert "signed out after 30 minutes without activity" in page.content.decode()
    logout = AccessAudit.objects.get(action=AuditAction.LOGOUT)
    assert logout.username == "trooper" and logout.detail == {"reason": "idle"}


def test_thirty_minutes_exactly_is_not_yet_idle_and_activity_restarts_the_clock(
    clock, trooper, sign_in
):
    client = sign_in(trooper)
    for _ in range(4):  # two hours of a person clicking every half hour
        clock.advance(30)
        assert client.get("/staff/").status_code == 200
    assert is_signed_in(client)
    assert not AccessAudit.objects.filter(action=AuditAction.LOGOUT).exists()


@pytest.mark.parametrize("passive", [PASSIVE, EVENT_STREAM], ids=["htmx-poll", "event-stream"])
def test_polling_and_live_feeds_do_not_keep_a_session_alive(clock, dispatcher, sign_in, passive):
    client = sign_in(dispatcher)
    for _ in range(3):
        clock.advance(10)
        assert client.get("/staff/", **passive).status_code == 200
    clock.advance(1)  # 31 minutes since the person last did anything
    assert client.get("/staff/", **passive).status_code == 302
    assert not is_signed_in(client)
    assert AccessAudit.objects.get(action=AuditAction.LOGOUT).detail == {"reason": "idle"}


def test_a_passive_request_does_not_even_write_the_session(clock, dispatcher, sign_in):
    client = sign_in(dispatcher)
    before = client.session[middleware.LAST_ACTIVITY_KEY]
    clock.advance(5)
    client.get("/staff/", **PASSIVE)
    assert client.session[middleware.LAST_ACTIVITY_KEY] == before
    client.get("/staff/")
    assert client.session[middleware.LAST_ACTIVITY_KEY] == before + 5 * 60


def test_paths_configured_as_passive_do_not_keep_a_session_alive(
    clock, dispatcher, sign_in, settings
):
    settings.DESPP_PASSIVE_PATH_PREFIXES = ["/api/me"]
    client = sign_in(dispatcher)
    clock.advance(20)
    assert client.get("/api/me").status_code == 200
    clock.advance(11)
    assert client.get("/api/me").status_code == 401
    assert not is_signed_in(client)


def test_an_htmx_request_after_the_idle_limit_moves_the_whole_page_to_sign_in(
    clock, dispatcher, sign_in
):
    client = sign_in(dispatcher)
    clock.advance(45)
    response = client.get(
        "/staff/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="/staff/?panel=queue", **PASSIVE
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/staff/login/?next=%2Fstaff%2F%3Fpanel%3Dqueue"


def test_a_busy_session_still_ends_at_its_absolute_lifetime(clock, trooper, sign_in, settings):
    settings.SESSION_COOKIE_AGE = 3600
    client = sign_in(trooper)
    for _ in range(3):
        clock.advance(20)
        assert client.get("/staff/").status_code == 200
    clock.advance(1)
    assert client.get("/staff/").status_code == 302
    assert AccessAudit.objects.get(action=AuditAction.LOGOUT).detail == {"reason": "lifetime"}
    assert "maximum length" in client.get("/staff/login/").content.decode()


def test_the_idle_limit_follows_its_setting(clock, trooper, sign_in, settings):
    settings.DESPP_IDLE_MINUTES = 10
    client = sign_in(trooper)
    clock.advance(11)
    assert client.get("/staff/").status_code == 302


def test_signing_out_by_hand_is_audited_as_the_users_own_log_off(trooper, sign_in):
    client = sign_in(trooper)
    assert client.get("/staff/logout/").status_code == 200  # a page with a button, no change
    assert is_signed_in(client)
    response = client.post("/staff/logout/")
    assert response.status_code == 302
    assert not is_signed_in(client)
    assert AccessAudit.objects.get(action=AuditAction.LOGOUT).detail == {"reason": "user"}


def test_under_asgi_the_idle_lock_and_the_second_factor_behave_the_same(
    clock, dispatcher, supervisor, sign_in
):
    """uvicorn serves the platform through ASGI; the middleware runs natively there too."""

    def asgi_get(signed_in, path: str, headers: dict[str, str] | None = None):
        client = AsyncClient()
        client.cookies = signed_in.cookies
        return async_to_sync(client.get)(path, headers=headers)

    verified = sign_in(dispatcher)
    clock.advance(20)
    assert asgi_get(verified, "/staff/", {"X-Despp-Passive": "1"}).status_code == 200
    clock.advance(11)
    expired = asgi_get(verified, "/staff/")
    assert expired.status_code == 302 and expired["Location"].startswith("/staff/login/")
    assert AccessAudit.objects.get(action=AuditAction.LOGOUT).detail == {"reason": "idle"}

    owing = asgi_get(sign_in(supervisor, mfa=False), "/staff/")
    assert owing.status_code == 302 and owing["Location"].startswith("/staff/mfa/enrol/")


def signed_in_a_minute_earlier(client) -> None:
    session = client.session
    session[middleware.LOGIN_STAMP_KEY] -= 60
    session.save()


def test_signing_in_elsewhere_ends_the_older_session(trooper, sign_in):
    first = sign_in(trooper)
    signed_in_a_minute_earlier(first)
    second = sign_in(trooper)
    assert second.get("/staff/").status_code == 200
    response = first.get("/staff/")
    assert response.status_code == 302
    assert not is_signed_in(first)
    assert "signed in somewhere else" in first.get(response["Location"]).content.decode()
    assert second.get("/staff/").status_code == 200
    ended = AccessAudit.objects.get(action=AuditAction.LOGOUT)
    assert ended.detail == {"reason": "superseded"} and ended.username == "trooper"


def test_a_role_the_agency_lets_hold_several_sessions_keeps_them(dispatcher, sign_in, settings):
    settings.DESPP_CONCURRENT_SESSION_ROLES = ["dispatcher"]
    first = sign_in(dispatcher)
    signed_in_a_minute_earlier(first)
    second = sign_in(dispatcher)
    assert first.get("/staff/").status_code == 200
    assert second.get("/staff/").status_code == 200


def test_deactivating_an_account_ends_its_open_sessions(trooper, sign_in):
    client = sign_in(trooper)
    assert client.get("/staff/").status_code == 200
    trooper.is_active = False
    trooper.save()
    assert client.get("/staff/").status_code == 302
    assert client.get("/api/me").status_code == 401
