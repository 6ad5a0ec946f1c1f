"""The compliance and CT quarterly report pages in a real browser: the Chart.js chart draws,
and axe finds nothing at desktop width or on a phone (the wide tables scroll in their own
region, the page itself does not)."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from tests.browser.test_public_pages_a11y import assert_no_axe_violations
from tests.dispatch.reports_data import make_call
from tests.personas import make_persona, signed_in_client

pytestmark = pytest.mark.browser

WIDTHS = [pytest.param(1280, id="desktop"), pytest.param(390, id="390px")]


@pytest.fixture
def dispatcher_page(
    transactional_db: None, live_server: LiveServer, open_page: Callable[..., Page]
) -> Callable[[int], Page]:
    user = make_persona("dispatcher")
    now = timezone.now()
    for index in range(40):
        make_call(user.agency, now - timedelta(hours=3 * index), answer_s=4 + index % 25)
    cookie = signed_in_client(user).cookies[settings.SESSION_COOKIE_NAME].value

    def factory(width: int) -> Page:
        page = open_page(width=width)
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )
        return page

    return factory


@pytest.mark.parametrize("width", WIDTHS)
def test_the_compliance_page_draws_its_charts_and_passes_axe(
    live_server: LiveServer, dispatcher_page: Callable[[int], Page], width: int
) -> None:
    page = dispatcher_page(width)
    page.goto(live_server.url + "/staff/dispatch/reports/?profile=nfpa-1221-2019")
    page.wait_for_function("document.querySelectorAll('canvas').length === 4")
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('canvas')).every(c => Chart.getChart(c))"
    )
    assert drawn
    assert page.locator("table.reports-table").count() == 4
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_quarterly_page_passes_axe(
    live_server: LiveServer, dispatcher_page: Callable[[int], Page], width: int
) -> None:
    page = dispatcher_page(width)
    today = timezone.localdate()
    quarter = (today.month - 1) // 3 + 1
    page.goto(
        f"{live_server.url}/staff/dispatch/reports/ct-quarterly/?year={today.year}&quarter={quarter}"
    )
    assert page.locator("tbody tr").count() == 1
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
