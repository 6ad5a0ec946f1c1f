"""WCAG 2.1 AA on every public page: axe finds nothing at desktop width or at 320 px, pages
reflow without sideways scrolling, and the keyboard reaches the skip link first."""

from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from tests.browser.pages import LOOKUP_PAGES, PUBLIC_PAGES

pytestmark = pytest.mark.browser

WIDTHS = [pytest.param(1280, id="desktop"), pytest.param(320, id="320px")]
PAGES = [pytest.param(path, id=name) for name, path in PUBLIC_PAGES]
LOOKUPS = [pytest.param(path, id=name) for name, path in LOOKUP_PAGES]


def assert_no_axe_violations(page: Page) -> None:
    results = Axe().run(page)
    violations = results.response["violations"]
    if violations:
        print(results.generate_report())
    assert violations == [], results.generate_snapshot()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", PAGES)
def test_public_page_has_no_axe_violations_and_reflows(
    live_server: LiveServer, open_page: Callable[..., Page], path: str, width: int
) -> None:
    page = open_page(width=width)
    page.goto(live_server.url + path)
    assert_no_axe_violations(page)
    # WCAG 1.4.10: content reflows at 320 CSS px with no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", LOOKUPS)
def test_lookup_page_has_no_axe_violations_and_reflows(
    live_server: LiveServer,
    reference_data: object,
    open_page: Callable[..., Page],
    path: str,
    width: int,
) -> None:
    page = open_page(width=width)
    page.goto(live_server.url + path)
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_list_of_all_towns_is_accessible_when_open(
    live_server: LiveServer, reference_data: object, open_page: Callable[..., Page]
) -> None:
    page = open_page(width=320)
    page.goto(live_server.url + "/find/")
    page.get_by_text("Show all 169 towns").click()
    assert page.get_by_role("link", name="New Milford").is_visible()
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_official_banner_disclosure_is_accessible_when_open(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url + "/")
    page.get_by_text("how you know").click()
    assert page.get_by_text("Official websites use .gov.").is_visible()
    assert_no_axe_violations(page)


def test_on_a_phone_the_divisions_open_from_a_menu_and_stay_accessible(
    live_server: LiveServer, open_page: Callable[..., Page]
) -> None:
    page = open_page(width=320)
    page.goto(live_server.url + "/")
    nav = page.get_by_role("navigation", name="Divisions")
    first_division = nav.get_by_role("link", name="State Police")
    assert not first_division.is_visible()
    nav.get_by_text("Our divisions").click()
    assert first_division.is_visible()
    assert_no_axe_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_on_a_wide_screen_the_divisions_are_always_shown(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url + "/")
    nav = page.get_by_role("navigation", name="Divisions")
    assert nav.get_by_role("link", name="Statewide 911").is_visible()
    assert not nav.get_by_text("Our divisions").is_visible()


def test_tab_from_the_top_reaches_the_skip_link_first(live_server: LiveServer, page: Page) -> None:
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, document.activeElement.text]")
    assert focused == ["skip-link", "Skip to main content"]
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0, "the focused skip link must come into view"


def test_skip_link_moves_focus_to_main_and_main_shows_focus(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url + "/divisions/state-police/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # WCAG 2.4.7: the skip link's target shows where focus went (uswds/uswds#6474).
    assert page.evaluate("document.activeElement.matches(':focus-visible')")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    # The next Tab continues inside the main content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def test_emergency_notice_is_on_the_first_screen_of_a_phone(
    live_server: LiveServer, open_page: Callable[..., Page]
) -> None:
    page = open_page(width=320, height=640)
    page.goto(live_server.url + "/")
    notice = page.get_by_role("region", name="Emergency notice")
    assert notice.is_visible()
    box = notice.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 640
    assert "In an emergency, call 911." in notice.inner_text()


def test_reduced_motion_preference_turns_off_smooth_scrolling(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(live_server.url + "/")
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "smooth"
    page.emulate_media(reduced_motion="reduce")
    assert page.evaluate("getComputedStyle(document.documentElement).scrollBehavior") == "auto"


def test_printed_pages_leave_out_navigation_and_search(live_server: LiveServer, page: Page) -> None:
    page.goto(live_server.url + "/")
    page.emulate_media(media="print")
    assert not page.get_by_role("navigation", name="Divisions").is_visible()
    assert not page.get_by_role("search").is_visible()
    assert page.get_by_role("heading", level=1).is_visible()
