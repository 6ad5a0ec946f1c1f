"""Fixtures for the call and incident tests: the shipped geography plus the dispatch tables.

    from tests.dispatch.calls_fixtures import dispatch_data, reference_data, reference_snapshot
    pytestmark = pytest.mark.usefixtures("dispatch_data")       (with # noqa: F401 on the import)

`dispatch_data` loads the real Connecticut towns (so locate() answers) and the shipped nature
codes, dispositions and common places; `data` (the same, as a value) gives handy look-ups.
"""

from dataclasses import dataclass
from typing import Any

import pytest

from despp.core.models import Agency
from despp.dispatch.models import CommonPlace, DispositionCode, NatureCode
from despp.dispatch.reference import load_reference_data
from tests.fixtures_reference import ReferenceData, reference_data, reference_snapshot  # noqa: F401

# Points whose jurisdiction the shipped data answers (checked by the tests themselves).
TOLLAND = (41.8786, -72.3648)  # Troop C town, CSP Eastern District Dispatch
MANSFIELD = (41.7883, -72.2291)  # Troop C town, CSP Eastern District Dispatch
HARTFORD = (41.7637, -72.6851)  # Hartford PD's own PSAP
GOSHEN = (41.849988, -73.233599)  # Troop B/L area, CSP Western District Dispatch
LONG_ISLAND_SOUND = (41.0, -72.0)  # out of state, 34 km from Groton
FAR_AWAY = (40.0, -75.0)  # Pennsylvania: refused


@dataclass(frozen=True)
class DispatchData:
    reference: ReferenceData

    def psap(self, code: str = "psap-csp-eastern") -> Agency:
        return Agency.objects.get(code=code)

    def nature(self, code: str) -> NatureCode:
        return NatureCode.objects.get(code=code)

    def disposition(self, code: str = "RPT") -> DispositionCode:
        return DispositionCode.objects.get(code=code)

    def place(self, name: str) -> CommonPlace:
        return CommonPlace.objects.select_related("town").get(name=name)


@pytest.fixture
def dispatch_data(reference_data: ReferenceData) -> DispatchData:  # noqa: F811
    load_reference_data()
    return DispatchData(reference_data)


def call_body(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/dispatch/calls body (a wireless call in Tolland)."""
    body: dict[str, Any] = {
        "callback_number": "860-555-0100",
        "class_of_service": "wireless",
        "lat": TOLLAND[0],
        "lon": TOLLAND[1],
        "uncertainty_m": 30,
        "location_text": "Tolland green by the church",
        "nature": "FSTRU",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}
