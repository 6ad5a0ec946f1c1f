"""Browser tests: Playwright (sync API) drives Debian's Chromium against pytest-django's
live server.

We never download Playwright's own browsers: the tests use the system Chromium at
/usr/bin/chromium. Where it is missing, CI fails loudly (a skipped browser suite would hide
accessibility regressions) and a developer machine skips with the command that installs it.

Playwright's sync API keeps an asyncio loop running on the test thread while it is open, and
Django refuses synchronous database work on a thread with a running loop. So Playwright lives
only as long as this package's tests (package scope, so tests elsewhere never see the loop), the
test database is created before it starts, and DJANGO_ALLOW_ASYNC_UNSAFE is set only while it
runs. The live server answers requests from its own thread, where no loop runs.
"""

import os
from collections.abc import Callable, Iterator

import pytest
from django.db import transaction
from playwright.sync_api import Browser, Page, sync_playwright
from pytest_django.live_server_helper import LiveServer

from despp.core import jurisdiction
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.fixtures_reference import Snapshot, reference_snapshot  # noqa: F401

DESKTOP = {"width": 1280, "height": 900}
_ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture(scope="package")
def browser(django_db_setup: None, live_server: LiveServer) -> Iterator[Browser]:
    require_chromium()
    previous = os.environ.get(_ASYNC_UNSAFE)
    os.environ[_ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ[_ASYNC_UNSAFE]
        else:
            os.environ[_ASYNC_UNSAFE] = previous


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Factory: a fresh page (own cookies) at the given viewport size; closed after the test."""
    contexts = []

    def factory(width: int = DESKTOP["width"], height: int = DESKTOP["height"]) -> Page:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """A desktop-sized page in a fresh browser context."""
    return open_page()


@pytest.fixture
def reference_data(
    reference_snapshot: Snapshot,  # noqa: F811
    transactional_db: None,
) -> Iterator[None]:
    """The shipped reference geography, committed so that the live server's thread sees it
    (the flush after each browser test removes it). One transaction, because the rows refer
    to each other and their foreign keys are checked at commit."""
    with transaction.atomic():
        for model, rows in reference_snapshot.items():
            model._default_manager.bulk_create(model(**row) for row in rows)
    jurisdiction.invalidate()
    yield
    jurisdiction.invalidate()
