"""The Connecticut reference data (towns, troops, agencies, PSAPs), loaded once per session.

Request `reference_data` in any test that needs towns, agencies or `locate()`:

    from tests.fixtures_reference import reference_data, reference_data_loaded  # noqa: F401

    def test_a_call_in_hartford_goes_to_hartford_pd(reference_data):
        assert reference_data.agency("pd-hartford").kind == "municipal_police"

The data is committed to the test database once (about a second), and each test then runs in
its usual rolled-back transaction. A transactional test elsewhere flushes the tables; the next
test asking for `reference_data` notices (one COUNT query) and loads them again. The fixture
also drops this process's cached jurisdiction index before and after each test, so an
override made in one test never leaks into the next through the cache.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from despp.core import jurisdiction
from despp.core.models import Agency, Town, Troop
from despp.core.reference import load_reference


@dataclass(frozen=True)
class ReferenceData:
    """Handy look-ups over the loaded reference rows."""

    def town(self, name: str) -> Town:
        return Town.objects.select_related("county", "troop", "police_agency", "psap").get(
            name=name
        )

    def agency(self, code: str) -> Agency:
        return Agency.objects.get(code=code)

    def troop(self, code: str) -> Troop:
        return Troop.objects.select_related("agency", "dispatch_center").get(code=code)


def _ensure_loaded() -> None:
    if not Town.objects.exists():
        load_reference()


@pytest.fixture(scope="session")
def reference_data_loaded(django_db_setup: Any, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        _ensure_loaded()


@pytest.fixture
def _reference_present(reference_data_loaded: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        _ensure_loaded()


@pytest.fixture
def reference_data(_reference_present: None, db: Any) -> Iterator[ReferenceData]:
    jurisdiction.invalidate()
    yield ReferenceData()
    jurisdiction.invalidate()
