"""The staff home links to each app workspace the user's roles may open, and no other."""

import pytest

pytestmark = pytest.mark.django_db


def test_dispatcher_home_links_the_dispatch_console_not_the_lab(dispatcher, sign_in):
    page = sign_in(dispatcher).get("/staff/").content.decode()
    assert 'href="/staff/dispatch/"' in page
    assert 'href="/staff/lab/"' not in page


def test_lab_intake_home_links_the_laboratory_not_the_console(labintake, sign_in):
    page = sign_in(labintake).get("/staff/").content.decode()
    assert 'href="/staff/lab/"' in page
    assert 'href="/staff/dispatch/"' not in page


def test_user_without_role_sees_no_workspace(norole, sign_in):
    page = sign_in(norole).get("/staff/").content.decode()
    assert "/staff/dispatch/" not in page
    assert "/staff/lab/" not in page
