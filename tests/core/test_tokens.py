"""Per-client API tokens: issued once, stored as a digest, revocable at once; bad tokens are a
401 problem+json and never fall back to the session."""

import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from despp.core import tokens
from despp.core.models import AccessAudit, ApiToken, AuditAction, Event

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def assert_problem_401(response) -> None:
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 401
    assert body["title"]


def test_issuing_returns_the_token_once_and_stores_only_its_digest(trooper):
    issued = tokens.issue_token(trooper, "  records   export ")
    assert issued.plaintext.startswith("dsp_") and len(issued.plaintext) == 47
    stored = ApiToken.objects.get()
    assert stored.name == "records export"
    assert stored.prefix == issued.plaintext[:12]
    assert stored.digest == hashlib.sha256(issued.plaintext.encode()).hexdigest()
    assert issued.plaintext not in {stored.digest, stored.prefix, stored.name}


@pytest.mark.parametrize("name", ["", "   ", "x" * 81])
def test_a_token_without_a_proper_name_is_refused_and_nothing_is_written(trooper, name):
    events, audits = Event.objects.count(), AccessAudit.objects.count()
    with pytest.raises(ValidationError) as refused:
        tokens.issue_token(trooper, name)
    assert "name" in refused.value.message_dict
    assert not ApiToken.objects.exists()
    assert (Event.objects.count(), AccessAudit.objects.count()) == (events, audits)


def test_a_bearer_token_authenticates_as_its_user(client, trooper):
    issued = tokens.issue_token(trooper, "mdt")
    response = client.get("/api/me", **bearer(issued.plaintext))
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "trooper"
    assert me["agency"]["code"] == "csp-troop-c"
    assert me["roles"] == ["trooper"]
    assert "report.write" in me["actions"] and "report.approve" not in me["actions"]
    assert me["authenticated_by"] == "token"


def test_a_revoked_token_is_refused_at_once_with_a_401_problem(client, trooper):
    issued = tokens.issue_token(trooper, "mdt")
    assert client.get("/api/me", **bearer(issued.plaintext)).status_code == 200
    assert tokens.revoke_token(issued.token) is True
    response = client.get("/api/me", **bearer(issued.plaintext))
    assert_problem_401(response)
    assert "revoked" in response.json()["detail"]
    failed = AccessAudit.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.detail == {"factor": "api_token", "reason": "revoked"}
    assert failed.object_id == issued.token.prefix


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer abc",
        "Basic dXNlcjpwYXNz",
        "Token dsp_" + "a" * 43,
        "Bearer dsp_" + "!" * 43,
        "Bearer dsp_" + "a" * 44,
        "Bearer " + "x" * 10_000,
        "Bearer dsp_ääääääääääääääääääääääääääääääääääääääääääää",
    ],
    ids=lambda header: header[:24],
)
def test_a_malformed_authorization_header_is_a_401_problem_never_a_500(client, trooper, header):
    response = client.get("/api/me", HTTP_AUTHORIZATION=header)
    assert_problem_401(response)


def test_an_unknown_well_formed_token_is_refused_and_the_attempt_audited(client, agencies):
    unknown = "dsp_" + "A" * 43
    assert_problem_401(client.get("/api/me", **bearer(unknown)))
    failed = AccessAudit.objects.get(action=AuditAction.LOGIN_FAILED)
    assert failed.detail == {"factor": "api_token", "reason": "unknown"}
    assert failed.object_id == unknown[:12]
    assert failed.outcome == "failure"


def test_a_bad_token_never_falls_back_to_the_signed_in_session(trooper, sign_in):
    client = sign_in(trooper)
    assert client.get("/api/me").status_code == 200
    assert_problem_401(client.get("/api/me", **bearer("dsp_" + "B" * 43)))


def test_a_token_of_a_deactivated_account_is_refused(client, trooper):
    issued = tokens.issue_token(trooper, "mdt")
    trooper.is_active = False
    trooper.save()
    response = client.get("/api/me", **bearer(issued.plaintext))
    assert_problem_401(response)
    assert "disabled" in response.json()["detail"]


def test_no_credentials_at_all_is_a_401(client, agencies):
    assert client.get("/api/me").status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(client, trooper, django_assert_num_queries):
    issued = tokens.issue_token(trooper, "mdt")
    client.get("/api/me", **bearer(issued.plaintext))
    first_use = ApiToken.objects.get().last_used_at
    assert first_use is not None
    # token lookup (with user and agency), roles: no write for a second call within the minute
    with django_assert_num_queries(2):
        tokens.authenticate_token(issued.plaintext)
        ApiToken.objects.filter(pk=issued.token.pk).values_list("pk").first()
    assert ApiToken.objects.get().last_used_at == first_use


def test_issuing_and_revoking_are_audited_and_appended_to_the_users_event_stream(trooper):
    issued = tokens.issue_token(trooper, "mdt")
    tokens.revoke_token(issued.token)
    assert tokens.revoke_token(issued.token) is False  # twice: harmless, recorded once
    audits = AccessAudit.objects.filter(action=AuditAction.TOKEN).order_by("id")
    assert [entry.detail["op"] for entry in audits] == ["issue", "revoke"]
    stream = Event.objects.filter(stream=f"user:{trooper.pk}").order_by("position")
    assert [event.kind for event in stream] == ["token.issued", "token.revoked"]
    assert issued.plaintext not in str([entry.detail for entry in audits])


def test_callers_list_and_revoke_their_own_tokens_through_the_api(client, trooper, trooper_f):
    mine = tokens.issue_token(trooper, "mdt")
    spare = tokens.issue_token(trooper, "spare")
    theirs = tokens.issue_token(trooper_f, "their mdt")
    listing = client.get("/api/tokens", **bearer(mine.plaintext)).json()
    assert {row["name"] for row in listing} == {"mdt", "spare"}
    assert all("digest" not in row for row in listing)

    not_mine = client.delete(f"/api/tokens/{theirs.token.prefix}", **bearer(mine.plaintext))
    assert not_mine.status_code == 404
    assert ApiToken.objects.get(pk=theirs.token.pk).revoked_at is None

    gone = client.delete(f"/api/tokens/{spare.token.prefix}", **bearer(mine.plaintext))
    assert gone.status_code == 204
    assert ApiToken.objects.get(pk=spare.token.pk).revoked_at is not None
    revoke_audit = AccessAudit.objects.filter(action=AuditAction.TOKEN, detail__op="revoke").get()
    assert revoke_audit.username == "trooper"


def test_revoking_through_the_api_with_a_session_needs_the_csrf_token(trooper, sign_in):
    issued = tokens.issue_token(trooper, "mdt")
    client = sign_in(trooper)
    client.handler.enforce_csrf_checks = True
    response = client.delete(f"/api/tokens/{issued.token.prefix}")
    assert response.status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_token_create_prints_only_the_token_and_it_works(client, trooper):
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", "trooper", "--name", "records export", stdout=out, stderr=err)
    plaintext = out.getvalue().strip()
    assert out.getvalue() == plaintext + "\n"
    assert plaintext.startswith("dsp_") and len(plaintext) == 47
    assert "shown only this once" in err.getvalue()
    assert client.get("/api/me", **bearer(plaintext)).status_code == 200
    issued = AccessAudit.objects.get(action=AuditAction.TOKEN)
    assert issued.username.startswith("(command line")


def test_token_revoke_and_list_commands(client, trooper):
    issued = tokens.issue_token(trooper, "mdt")
    listing = io.StringIO()
    call_command("token", "list", "trooper", stdout=listing)
    assert issued.token.prefix in listing.getvalue() and "never" in listing.getvalue()
    out = io.StringIO()
    call_command("token", "revoke", issued.token.prefix, stdout=out)
    assert "Revoked" in out.getvalue()
    assert_problem_401(client.get("/api/me", **bearer(issued.plaintext)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "ghost"], "No user named 'ghost'"),
        (["revoke", "dsp_zzzzzzzz"], "No token starts with"),
        (["revoke", "not-a-prefix"], "is not a token prefix"),
    ],
)
def test_token_commands_fail_clearly_on_bad_input_and_write_nothing(trooper, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("token", *args, stdout=io.StringIO())
    assert not ApiToken.objects.exists()
