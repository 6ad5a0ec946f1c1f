"""/api/dispatch: the dispatch floor's JSON API, one router per area."""

from ninja import Router

from despp.dispatch import api_calls, api_eido, api_reports, api_units

router = Router()
router.add_router("", api_calls.router)
router.add_router("", api_units.router)
router.add_router("", api_reports.router)
router.add_router("", api_eido.router)
