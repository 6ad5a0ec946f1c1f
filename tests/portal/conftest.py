"""Fixtures for the public hub's tests: the shipped reference data (tests/fixtures_reference.py),
or its absence."""

from collections.abc import Iterator

import pytest

from despp.core import jurisdiction
from despp.core.models import ReferenceState
from tests.fixtures_reference import (  # noqa: F401
    ReferenceData,
    reference_data,
    reference_snapshot,
)


@pytest.fixture
def reference(reference_data: ReferenceData) -> None:  # noqa: F811
    """The reference geography is loaded and this process's jurisdiction cache is fresh."""


@pytest.fixture
def no_reference(db: None) -> Iterator[None]:
    # Deleted inside this test's transaction only: the session's loaded data comes back after.
    ReferenceState.objects.all().delete()
    jurisdiction.invalidate()
    yield
    jurisdiction.invalidate()
