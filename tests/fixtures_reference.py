"""The Connecticut reference data (towns, troops, agencies, PSAPs) for tests that need it.

Request `reference_data` in any test that needs towns, agencies or `locate()`:

    from tests.fixtures_reference import reference_data, reference_snapshot  # noqa: F401

    def test_a_call_in_hartford_goes_to_hartford_pd(reference_data):
        assert reference_data.agency("pd-hartford").kind == "municipal_police"

The loader runs once per session, inside a transaction that is rolled back, to capture every
row it writes; each test then bulk-inserts that snapshot inside its own rolled-back transaction
(tens of milliseconds). Nothing is ever committed, so tests that do not ask for the data never
see it. If a test already created some agencies itself (a persona fixture that ran first), the
loader runs for real instead, which merges with them by agency code. The fixture also drops
this process's cached jurisdiction index before and after each test, so a correction made in
one test never leaks into the next through the cache.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models, transaction

from despp.core import jurisdiction
from despp.core.models import Agency, County, ReferenceState, Town, Troop
from despp.core.reference import load_reference

# Foreign keys between these are checked at commit (deferred), so the order is free.
_MODELS: tuple[type[models.Model], ...] = (County, Agency, Troop, Town, ReferenceState)
Snapshot = dict[type[models.Model], list[dict[str, Any]]]


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


class _Rollback(Exception):
    pass


@pytest.fixture(scope="session")
def reference_snapshot(django_db_setup: Any, django_db_blocker: Any) -> Snapshot:
    snapshot: Snapshot = {}
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                load_reference(record_event=False)
                snapshot = {model: list(model._default_manager.values()) for model in _MODELS}
                raise _Rollback
        except _Rollback:
            pass
    jurisdiction.invalidate()
    return snapshot


@pytest.fixture
def reference_data(reference_snapshot: Snapshot, db: Any) -> Iterator[ReferenceData]:
    if Agency.objects.exists() or Town.objects.exists():
        load_reference(record_event=False)
    else:
        for model, rows in reference_snapshot.items():
            model._default_manager.bulk_create(model(**row) for row in rows)
    jurisdiction.invalidate()
    yield ReferenceData()
    jurisdiction.invalidate()
