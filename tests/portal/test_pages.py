"""The public services hub's pages: what each shows, and what every page has in common."""

import re

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client, RequestFactory
from django.utils.html import escape
from django.views.defaults import bad_request, permission_denied, server_error

from despp.portal.content import DIVISIONS, Section


def emergency_notice_text(html: str) -> str:
    match = re.search(
        r'<section class="emergency-notice" aria-label="Emergency notice">(.*?)'
        r"</section>",
        html,
        re.S,
    )
    assert match, "the emergency notice is missing"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


PUBLIC_PATHS = [
    "/",
    *(f"/divisions/{division.slug}/" for division in DIVISIONS),
    "/search/",
    "/search/?q=training",
    "/accessibility/",
    "/privacy/",
]


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_public_page_has_the_shared_layout(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<main id="main" tabindex="-1">' in html
    assert emergency_notice_text(html).startswith("In an emergency, call 911.")
    assert "An official website of the State of Connecticut" in html
    assert 'href="/staff/login/"' in html
    assert len(re.findall(r"<h1[ >]", html)) == 1


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_public_page_uses_each_id_once(client: Client, path: str) -> None:
    ids = re.findall(r'\sid="([^"]+)"', client.get(path).content.decode())
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_public_pages_set_no_cookies_and_read_nothing_from_the_database(
    client: Client, path: str, django_assert_num_queries
) -> None:
    # The privacy page promises no cookies on public pages; the hub's content is in code.
    with django_assert_num_queries(0):
        response = client.get(path)
    assert response.cookies == {}


def test_public_pages_load_no_scripts(client: Client) -> None:
    # htmx is for the staff consoles; the public hub works without JavaScript.
    for path in PUBLIC_PATHS:
        assert "<script" not in client.get(path).content.decode(), path


def test_home_page_shows_every_division_with_its_acronym_and_top_offerings(client: Client) -> None:
    html = client.get("/").content.decode()
    for division in DIVISIONS:
        assert f'href="/divisions/{division.slug}/"' in html
        assert f'{division.name} <span class="acronym">({division.acronym})</span>' in html
        assert escape(division.purpose) in html
        for section in Section:
            assert division.items(section), f"{division.acronym} has no {section.label}"
            top = division.items(section)[0]
            assert f'href="{division.item_url(top)}"' in html


def test_division_page_shows_all_its_resources_programs_and_services(client: Client) -> None:
    for division in DIVISIONS:
        html = client.get(f"/divisions/{division.slug}/").content.decode()
        for section in Section:
            assert f'<h2 id="{section.value}">{section.label}</h2>' in html
            for item in division.items(section):
                assert f'id="{item.slug}"' in html
                assert escape(item.detail) in html
        for fact in division.facts:
            assert f"<dt>{escape(fact.label)}</dt><dd>{escape(fact.value)}</dd>" in html


def test_state_police_page_states_the_departments_figures(client: Client) -> None:
    html = client.get("/divisions/state-police/").content.decode()
    assert "since 1903" in html
    assert "<dt>Troops</dt><dd>11</dd>" in html
    assert "82 municipalities (department figure)" in html


def test_division_page_marks_its_division_current_in_the_navigation(client: Client) -> None:
    html = client.get("/divisions/scientific-services/").content.decode()
    assert re.search(r'href="/divisions/scientific-services/"\s+aria-current="page"', html)
    # Two copies of the list (the narrow-screen menu and the wide bar); only one is displayed.
    assert re.findall(r'aria-current="page">([^<]+)</a>', html) == ["Scientific Services"] * 2


def test_unknown_division_is_a_404_in_the_site_style(client: Client) -> None:
    response = client.get("/divisions/no-such-division/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Page not found</h1>" in html
    assert emergency_notice_text(html).startswith("In an emergency, call 911.")


def test_every_content_link_leads_somewhere_real(client: Client, reference: None) -> None:
    for division in DIVISIONS:
        page = client.get(division.get_absolute_url()).content.decode()
        for section in Section:
            for item in division.items(section):
                url = division.item_url(item)
                assert url.startswith("/"), f"{url} is not a page of this platform"
                if item.href:
                    assert item.link_text, f"{item.slug} needs a call to action"
                    assert client.get(item.href).status_code == 200, item.href
                else:
                    assert url.endswith(f"#{item.slug}") and f'id="{item.slug}"' in page


def test_public_pages_refuse_writes(client: Client) -> None:
    assert client.post("/").status_code == 405
    assert client.post("/search/", {"q": "fire"}).status_code == 405


def test_server_error_page_renders_in_the_site_style_without_any_context() -> None:
    # Django renders 500.html with an empty context, so the layout must not depend on one.
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Sorry, there is a problem with the service" in html
    assert "Department of Emergency Services and Public Protection" in html
    assert emergency_notice_text(html).startswith("In an emergency, call 911.")
    assert 'href="/divisions/state-police/"' in html


def test_anonymous_visitors_see_the_staff_sign_in_link_but_no_account_bar(client: Client) -> None:
    html = client.get("/").content.decode()
    assert "Staff sign-in" in html
    assert "Signed in as" not in html


@pytest.mark.django_db
def test_signed_in_staff_see_their_name_and_a_sign_out_button(trooper, sign_in) -> None:
    html = sign_in(trooper).get("/").content.decode()
    assert f"Signed in as <strong>{trooper.username}</strong>" in html
    assert re.search(
        r'<form method="post" action="[^"]+">\s*<input type="hidden" '
        r'name="csrfmiddlewaretoken"',
        html,
    )
    assert '<button class="link-button" type="submit">Sign out</button>' in html


def test_permission_and_bad_request_pages_render_in_the_site_style() -> None:
    request = RequestFactory().get("/")
    for response, heading in (
        (permission_denied(request, PermissionDenied()), "You cannot open this page"),
        (bad_request(request, SuspiciousOperation()), "The request could not be understood"),
    ):
        html = response.content.decode()
        assert f"<h1>{heading}</h1>" in html
        assert emergency_notice_text(html).startswith("In an emergency, call 911.")


def test_a_form_posted_without_its_csrf_token_gets_the_expired_form_page() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/staff/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Your form has expired</h1>" in html
    assert emergency_notice_text(html).startswith("In an emergency, call 911.")
