"""Schemathesis over the laboratory API as a permitted user (the API-wide walk signs in as the
auditor, whom every laboratory operation refuses with 403): intake staff, with a received
submission and a released report in the database, so requests get past the permission check
into the selectors and services. No 5xx; every response as the schema says.

One check is left out here: that every schema-valid body is accepted. The services enforce
rules a schema cannot state (a discrepancy is required when an item was not delivered, a
username must exist, an item must belong to the request) and answer them with a 422 naming the
field, which is this API's contract for bad input."""

from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from despp.core import tokens
from tests.api.test_schemathesis import keep_test_connection  # noqa: F401 - a fixture

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application()).include(
    path_regex="^/api/forensics/"
)
schema.config.generation.update(
    modes=["positive", "negative"], max_examples=12, deterministic=True, allow_x00=False
)


@pytest.fixture
def intake_bearer(released: Any, lab: Any, keep_test_connection: None) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {tokens.issue_token(lab.intake, 'fuzz').plaintext}"}


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_laboratory_operation_answers_as_its_schema_says(
    case: Any, intake_bearer: dict[str, str]
) -> None:
    case.call_and_validate(headers=intake_bearer, excluded_checks=[positive_data_acceptance])
