"""Schemathesis over the whole API, in process: no 5xx, every response as the schema says.

Every operation gets the examples, coverage and (bounded, derandomised) fuzzing phases in both
positive and negative modes, signed in as the auditor (whose roles reach every staff endpoint
mounted today) so that authenticated operations are exercised beyond their 401. The reference
geography is loaded so the public lookups answer for real.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from despp.core import tokens
from tests.personas import make_persona

MAX_EXAMPLES = 25


# Loaded at collection from the application itself (serving the schema touches no database).
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
schema.config.generation.update(
    modes=["positive", "negative"],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    # The API refuses NUL in every text field, by rule rather than per schema (databases
    # cannot store it; see docs/api-errors.md); test_problem_json.py proves the refusal.
    allow_x00=False,
)


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Requests go straight to the WSGI application, whose end-of-request handler would close
    the test's database connection (and its transaction); Django's test client unhooks it
    the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def bearer(db: Any, keep_test_connection: None) -> dict[str, str]:
    call_command("load_reference", verbosity=0)
    token = tokens.issue_token(make_persona("auditor"), "schemathesis").plaintext
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_its_schema_says(case: Any, bearer: dict[str, str]) -> None:
    case.call_and_validate(headers=bearer)
