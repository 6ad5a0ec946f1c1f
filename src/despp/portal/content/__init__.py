"""The services hub's content: the department, its six divisions and what each offers the public.

Facts come from the department's own services page (see shared/seed) and the public sources
cited in the project's reference notes; the wording is ours. Links point only at pages of this
platform or at anchors on a division's landing page, never at outside sites we cannot vouch for.
An item without a platform page yet is described in full on its division's landing page, and
its link is that description's anchor; when the platform grows a page for it, set `href`.
One module per division; the types are in `types`.
"""

from despp.portal.content.emergency_management import EMERGENCY_MANAGEMENT
from despp.portal.content.emergency_telecommunications import EMERGENCY_TELECOMMUNICATIONS
from despp.portal.content.fire_prevention import FIRE_PREVENTION
from despp.portal.content.post_council import POST_COUNCIL
from despp.portal.content.scientific_services import SCIENTIFIC_SERVICES
from despp.portal.content.state_police import STATE_POLICE
from despp.portal.content.types import Department, Division, Fact, Item, Section

__all__ = [
    "DEPARTMENT",
    "DIVISIONS",
    "TOP_ITEMS_PER_SECTION",
    "Department",
    "Division",
    "Fact",
    "Item",
    "Section",
    "get_division",
]

DEPARTMENT = Department(
    name="Department of Emergency Services and Public Protection",
    short_name="DESPP",
    state="Connecticut",
    summary=(
        "The department looks after public safety and emergency readiness across Connecticut. "
        "Six divisions each run their own programs and services; this site gathers each "
        "division's top resources, training programs and emergency services in one place."
    ),
)

TOP_ITEMS_PER_SECTION = 2

# In the order of the department's services page.
DIVISIONS: tuple[Division, ...] = (
    STATE_POLICE,
    POST_COUNCIL,
    EMERGENCY_MANAGEMENT,
    FIRE_PREVENTION,
    SCIENTIFIC_SERVICES,
    EMERGENCY_TELECOMMUNICATIONS,
)

_BY_SLUG = {division.slug: division for division in DIVISIONS}


def get_division(slug: str) -> Division | None:
    return _BY_SLUG.get(slug)
