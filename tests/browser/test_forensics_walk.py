"""The laboratory in a browser, at desktop width and on a 390 px phone: an officer submits
evidence, intake receives it and hands an item to an analyst, the analyst acknowledges it.
Every page on the way has zero axe violations and reflows without sideways scrolling."""

from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.apps import apps
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from despp.core.models import User
from despp.forensics.models import Item, Section, SectionCode, SectionMembership
from despp.forensics.setup import ensure_lab_configuration
from tests.personas import signed_in_client

pytestmark = pytest.mark.browser


def check_page(page: Page, width: int) -> None:
    results = Axe().run(page)
    violations = results.response["violations"]
    if violations:
        print(results.generate_report())
    assert violations == [], (page.url, results.generate_snapshot())
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def signed_in_page(open_page: Callable[..., Page], server: LiveServer, user: User,
                   width: int) -> Page:  # fmt: skip
    """A browser page carrying a session of `user` with the second factor passed."""
    client = signed_in_client(user)
    page = open_page(width=width)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.url}]
    )
    return page


@pytest.fixture
def people(transactional_db: Any, trooper: User, labintake: User, analyst: User) -> dict[str, User]:
    # The sections and examination types come from a data migration, which the flush after
    # an earlier live-server test removed: seed them again the migration's way.
    import_module("despp.forensics.migrations.0002_sections_and_examination_types").seed(apps, None)
    ensure_lab_configuration()
    SectionMembership.objects.create(
        user=analyst, section=Section.objects.get(code=SectionCode.CONTROLLED_SUBSTANCES)
    )
    return {"trooper": trooper, "intake": labintake, "analyst": analyst}


@pytest.mark.parametrize("width", [pytest.param(1280, id="desktop"), pytest.param(390, id="phone")])
def test_submit_receive_transfer_acknowledge(
    width: int, live_server: LiveServer, open_page: Callable[..., Page], people: dict[str, User]
) -> None:
    base = live_server.url + "/staff/lab"

    # The officer submits one item for drug identification.
    officer = signed_in_page(open_page, live_server, people["trooper"], width)
    officer.goto(base + "/submit/")
    check_page(officer, width)
    officer.get_by_label("Case number").fill("CFS2699001")
    officer.get_by_label("Offense", exact=True).fill("Possession of narcotics")
    row = officer.locator("#item-1")
    row.get_by_label("Description").fill("Plastic bag, white powder")
    row.get_by_label("Type").select_option("drug")
    row.get_by_label("Packaging").select_option("plastic-bag")
    row.get_by_label("Seal number").fill("S-4401")
    row.get_by_label("Drug identification").check()
    officer.get_by_role("button", name="Submit to the laboratory").click()
    expect(officer.get_by_role("status")).to_contain_text("Submitted as")
    check_page(officer, width)
    submission_url = officer.url

    # Intake receives it: it passes into the intake person's custody.
    intake = signed_in_page(open_page, live_server, people["intake"], width)
    intake.goto(submission_url)
    check_page(intake, width)
    intake.get_by_role("button", name="Record receipt").click()
    expect(intake.get_by_role("status")).to_contain_text("Received 1 item")
    check_page(intake, width)

    # ... and hands it to the analyst, who must acknowledge it.
    intake.get_by_role("link", name="1", exact=True).click()
    check_page(intake, width)
    transfer = intake.locator("form.transfer-form")
    transfer.get_by_label("A person (they acknowledge receipt)").check()
    transfer.get_by_label("Person", exact=True).select_option(label="Test Analyst (analyst)")
    transfer.get_by_label("Reason").fill("For analysis")
    transfer.get_by_label("Yes").check()
    transfer.get_by_role("button", name="Start the transfer").click()
    expect(intake.get_by_role("status")).to_contain_text("waits for Test Analyst")
    check_page(intake, width)
    item = Item.objects.get(barcode__endswith="-1")
    assert item.holder_id == people["intake"].pk and item.pending_to_id == people["analyst"].pk

    analyst = signed_in_page(open_page, live_server, people["analyst"], width)
    analyst.goto(base + "/")
    expect(
        analyst.get_by_role("heading", name="Waiting for your acknowledgement (1)")
    ).to_be_visible()
    check_page(analyst, width)
    analyst.get_by_role("link", name=item.barcode).first.click()
    check_page(analyst, width)
    analyst.get_by_role("button", name="Acknowledge: I have the item").click()
    expect(analyst.get_by_role("status")).to_contain_text("the transfer is complete")
    expect(analyst.get_by_text("Chain verified: 4 events")).to_be_visible()
    check_page(analyst, width)
    item.refresh_from_db()
    assert (item.holder_id, item.pending_to_id) == (people["analyst"].pk, None)
