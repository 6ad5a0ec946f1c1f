"""Every API error is RFC 9457 problem+json naming what was wrong, and a refused request
writes nothing. Bodies are exercised on a probe API built by the same class as /api/."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from despp.core.errors import DESCRIPTIONS, STATUS, ProblemType
from despp.core.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.api.probe_urls")]

PROBLEM = "application/problem+json"
VALID = {"incident": 42, "narrative": "Caller reports smoke on the second floor.", "units": ["E1"]}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "api-errors.md"


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


@contextmanager
def nothing_written() -> Iterator[None]:
    before = _row_counts()
    yield
    assert _row_counts() == before


def _post(body: bytes | str, content_type: str = "application/json") -> Any:
    return Client().generic("POST", "/api/narratives", body, content_type=content_type)


def _problem(response: Any, status: int, problem: ProblemType) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"/api/problems/{problem.value}"
    assert body["title"] == problem.label
    assert body["status"] == status
    assert body["detail"]
    assert body["instance"] == response.wsgi_request.path
    return body


def test_a_valid_body_is_accepted_and_written() -> None:
    response = _post(json.dumps(VALID))
    assert response.status_code == 201
    assert Event.objects.get(seq=response.json()["seq"]).data == VALID


# --- 413 -------------------------------------------------------------------------------------


def test_an_oversize_body_is_a_413_problem_and_writes_nothing(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = json.dumps({**VALID, "narrative": "x" * 3000})
    with nothing_written():
        problem = _problem(_post(body), 413, ProblemType.BODY_TOO_LARGE)
    assert problem["max_bytes"] == 2048


def test_the_default_limit_refuses_a_body_over_a_million_bytes() -> None:
    with nothing_written():
        _problem(_post(" " * 1_000_001 + json.dumps(VALID)), 413, ProblemType.BODY_TOO_LARGE)


# --- 415 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/json; charset=latin-1",
        "",
    ],
)
def test_a_body_of_another_media_type_is_a_415_naming_the_expected_one(content_type: str) -> None:
    with nothing_written():
        response = _post(json.dumps(VALID), content_type)
        problem = _problem(response, 415, ProblemType.UNSUPPORTED_MEDIA_TYPE)
    assert problem["expected"] == "application/json"
    assert "application/json" in problem["detail"]
    assert response["Accept-Post"] == "application/json"


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json"]
)
def test_json_media_types_with_utf8_are_accepted(content_type: str) -> None:
    assert _post(json.dumps(VALID), content_type).status_code == 201


# --- 400: not JSON at all --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b'{"incident": 42, "narrative": ', "Expecting value"),
        (b'{"incident": 42, "incident": 43, "narrative": "x"}', "appears twice"),
        (b'{"incident": NaN, "narrative": "x"}', "not a number JSON allows"),
        (b'{"incident": 1e400, "narrative": "x"}', "too large"),
        (b'{"incident": ' + b"9" * 5000 + b', "narrative": "x"}', "digits"),
        (b'{"narrative": "caf\xe9"}', "not UTF-8"),
    ],
)
def test_a_body_that_is_not_valid_json_is_a_400_naming_the_body(
    body: bytes, complaint: str
) -> None:
    with nothing_written():
        problem = _problem(_post(body), 400, ProblemType.MALFORMED_BODY)
    assert complaint in problem["detail"]
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [("body", "")]


# --- 422: JSON, but not what the operation takes ---------------------------------------------


def test_invalid_fields_are_a_422_naming_each_field_by_its_name_in_the_body() -> None:
    with nothing_written():
        problem = _problem(
            _post(json.dumps({"incident": 0, "narrative": "", "units": ["E1", 7]})),
            422,
            ProblemType.VALIDATION,
        )
    named = {(e["location"], e["field"]): e for e in problem["errors"]}
    assert set(named) == {("body", "incident"), ("body", "narrative"), ("body", "units.1")}
    assert named[("body", "incident")]["code"] == "greater_than_equal"
    assert all(error["message"] for error in problem["errors"])
    assert "body.incident" in problem["detail"]


def test_a_missing_body_is_a_422() -> None:
    with nothing_written():
        problem = _problem(_post(b""), 422, ProblemType.VALIDATION)
    assert problem["errors"][0]["location"] == "body"


def test_text_no_database_can_store_is_a_422_naming_the_field() -> None:
    body = json.dumps({**VALID, "narrative": "smoke\u0000", "units": ["E1", "\ud800"]})
    with nothing_written():
        problem = _problem(_post(body), 422, ProblemType.VALIDATION)
    fields = {(e["location"], e["field"]) for e in problem["errors"]}
    assert fields == {("body", "narrative"), ("body", "units.1")}


@pytest.mark.urls("despp.urls")
def test_a_nul_in_a_query_parameter_is_a_422_naming_it() -> None:
    with nothing_written():
        response = Client().get("/api/locate?lat=41.7%00&lon=-72.7")
        problem = _problem(response, 422, ProblemType.VALIDATION)
    assert [(e["location"], e["field"]) for e in problem["errors"]] == [("query", "lat")]


def test_a_services_own_validation_error_is_a_422_naming_its_field() -> None:
    with nothing_written():
        response = Client().post("/api/calls", VALID, content_type="application/json")
        problem = _problem(response, 422, ProblemType.VALIDATION)
    assert problem["errors"] == [
        {
            "location": "body",
            "field": "narrative",
            "message": "Describe what the caller reports.",
            "code": "invalid",
        }
    ]


# --- routes and methods ----------------------------------------------------------------------


@pytest.mark.urls("despp.urls")
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", ["/api/nope", "/api/towns/hartford/extra", "/api/v2/locate"])
def test_an_unknown_route_under_the_api_is_a_404_problem_not_an_html_page(
    method: str, path: str
) -> None:
    with nothing_written():
        response = Client().generic(method, path, b"{}", content_type="application/json")
        problem = _problem(response, 404, ProblemType.NOT_FOUND)
    assert "/api/docs" in problem["detail"]


@pytest.mark.urls("despp.urls")
def test_a_method_the_route_does_not_have_is_a_405_problem_with_allow() -> None:
    with nothing_written():
        response = Client().post("/api/locate", {}, content_type="application/json")
        _problem(response, 405, ProblemType.METHOD_NOT_ALLOWED)
    assert response["Allow"] == "GET"


@pytest.mark.urls("despp.urls")
def test_the_docs_pages_refuse_unsafe_methods_with_a_405_problem() -> None:
    for path in ("/api/docs", "/api/openapi.json"):
        response = Client().post(path)
        _problem(response, 405, ProblemType.METHOD_NOT_ALLOWED)
        assert response["Allow"] == "GET, HEAD"


def test_async_operations_get_the_same_problems() -> None:
    assert Client().get("/api/async-units/A12").json() == {"unit": "A12"}
    _problem(Client().get("/api/async-units/B7"), 404, ProblemType.NOT_FOUND)
    response = Client().delete("/api/async-units/A12")
    _problem(response, 405, ProblemType.METHOD_NOT_ALLOWED)
    assert response["Allow"] == "GET"


# --- state, permission, authentication, the unexpected ---------------------------------------


def test_a_conflict_is_a_409_with_its_extensions_and_rolls_back_what_was_begun() -> None:
    with nothing_written():
        problem = _problem(Client().post("/api/units/A12/assign"), 409, ProblemType.CONFLICT)
    assert problem["detail"] == "Unit A12 is already on scene."
    assert problem["current_state"] == "on_scene"


def test_permission_denied_is_a_403_problem() -> None:
    problem = _problem(Client().get("/api/forbidden"), 403, ProblemType.FORBIDDEN)
    assert problem["detail"] == "Only supervisors may do this."


def test_missing_credentials_are_a_401_problem_with_a_bearer_challenge() -> None:
    with nothing_written():
        response = Client().get("/api/private")
        _problem(response, 401, ProblemType.UNAUTHENTICATED)
    assert response["WWW-Authenticate"] == 'Bearer realm="despp"'


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_is_a_500_problem_that_hides_the_details_and_logs_them(
    debug: bool, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.DEBUG = debug
    with caplog.at_level(logging.ERROR, logger="despp.api"):
        response = Client(raise_request_exception=False).get("/api/boom")
    problem = _problem(response, 500, ProblemType.SERVER_ERROR)
    text = response.content.decode()
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    (record,) = [r for r in caplog.records if r.name == "despp.api"]
    assert problem["error_id"] in record.getMessage()
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])


# --- documentation ---------------------------------------------------------------------------


@pytest.mark.urls("despp.urls")
def test_the_openapi_document_declares_the_problem_responses_of_each_operation() -> None:
    schema = Client().get("/api/openapi.json").json()
    assert schema["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
        "instance",
    ]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("400", "404", "500"):
                content = operation["responses"][status]["content"]
                assert PROBLEM in content, (method, path, status)
            if operation.get("security"):
                assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_an_operation_with_a_body_declares_413_415_and_422() -> None:
    schema = Client().get("/api/openapi.json").json()
    responses = schema["paths"]["/api/narratives"]["post"]["responses"]
    assert {"201", "400", "409", "413", "415", "422", "500"} <= set(responses)


@pytest.mark.urls("despp.urls")
@pytest.mark.parametrize("problem", list(ProblemType))
def test_every_problem_type_is_documented_where_its_type_uri_points(problem: ProblemType) -> None:
    described = Client().get(f"/api/problems/{problem.value}").json()
    assert described == {
        "type": f"/api/problems/{problem.value}",
        "title": problem.label,
        "status": STATUS[problem],
        "description": DESCRIPTIONS[problem],
    }
    assert f"`/api/problems/{problem.value}`" in DOCS.read_text()


@pytest.mark.urls("despp.urls")
def test_the_api_docs_page_loads_swagger_from_this_server_not_a_cdn() -> None:
    page = Client().get("/api/docs")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200
