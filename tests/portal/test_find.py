"""Find who serves a town: the public lookup over the jurisdiction index."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from despp.portal.selectors import MAX_TOWN_NAME_LENGTH, LookupProblem, find_town


def fact_lines(town: str) -> dict[str, tuple[str, str]]:
    return {fact.label: (fact.value, fact.note) for fact in find_town(town).facts}


def test_a_state_police_town_shows_its_troop_and_says_which_answers_are_estimated(
    reference: None,
) -> None:
    facts = fact_lines("Norfolk")
    assert facts["County"] == ("Litchfield County", "")
    assert facts["Who polices the town"] == ("The State Police", "Named in a published source.")
    police, police_note = facts["Primary police agency"]
    assert police.startswith("State Police Troop B")
    assert police_note.startswith("Estimated from the troop with the nearest barracks")
    assert facts["State Police troop for the area"] == (
        "Troop B",
        "Estimated from the nearest State Police barracks: no published source names it.",
    )
    psap, psap_note = facts["911 answering point"]
    assert psap.startswith("CSP Western District")
    assert psap_note.startswith("Worked out by a rule")


def test_a_sourced_answer_says_it_is_named_in_a_published_source(reference: None) -> None:
    value, note = fact_lines("Bethany")["State Police troop for the area"]
    assert (value, note) == ("Troop I", "Named in a published source.")


def test_a_town_with_its_own_department_names_that_department(reference: None) -> None:
    facts = fact_lines("Hartford")
    assert facts["Who polices the town"][0] == "The town's own police department"
    assert facts["Primary police agency"] == (
        "Hartford Police Department",
        "Named in a published source.",
    )


def test_town_names_match_whatever_the_case_and_spacing(reference: None) -> None:
    assert find_town("  new   MILFORD ").town == "New Milford"


def test_a_misspelt_town_gets_suggestions_and_no_answer(reference: None) -> None:
    lookup = find_town("Hartfrod")
    assert lookup.problem == LookupProblem.NOT_FOUND
    assert lookup.facts == ()
    assert "Hartford" in lookup.suggestions


def test_the_start_of_a_name_suggests_every_town_beginning_with_it(reference: None) -> None:
    suggestions = find_town("new l").suggestions
    assert suggestions == ("New London",)
    assert {"New Britain", "New Haven", "New Milford"} <= set(find_town("new").suggestions)


def test_find_page_shows_the_answer_and_reminds_that_911_needs_no_lookup(
    client: Client, reference: None
) -> None:
    response = client.get("/find/", {"town": "norfolk"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Who serves Norfolk" in html
    assert '<h2 id="answer-heading">Norfolk</h2>' in html
    assert "<dt>911 answering point</dt>" in html
    assert "You never need this to get help." in html


def test_find_page_lists_all_169_towns_as_links(client: Client, reference: None) -> None:
    html = client.get("/find/").content.decode()
    assert "Show all 169 towns" in html
    assert html.count('<li><a href="?town=') == 169
    assert '<a href="?town=New%20Milford">New Milford</a>' in html
    assert "There is a problem" not in html


@pytest.mark.parametrize(
    ("town", "message"),
    [
        ("", LookupProblem.EMPTY.label),
        ("x" * (MAX_TOWN_NAME_LENGTH + 1), LookupProblem.TOO_LONG.label),
        ("Atlantis", LookupProblem.NOT_FOUND.label),
    ],
)
def test_find_page_explains_a_lookup_it_cannot_answer(
    client: Client, reference: None, town: str, message: str
) -> None:
    response = client.get("/find/", {"town": town})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="#town">{message}</a>' in html
    assert 'aria-invalid="true"' in html
    assert 'id="answer-heading"' not in html


def test_find_page_says_it_is_unavailable_before_the_reference_data_is_loaded(
    client: Client, no_reference: None
) -> None:
    response = client.get("/find/", {"town": "Hartford"})
    assert response.status_code == 503
    assert "The lookup is not available right now." in response.content.decode()
    assert find_town("Hartford").problem == LookupProblem.UNAVAILABLE


def test_find_page_reads_at_most_one_row_once_the_index_is_warm(
    client: Client, reference: None, django_assert_max_num_queries
) -> None:
    client.get("/find/", {"town": "Hartford"})
    with django_assert_max_num_queries(1):  # the reference revision check, every few seconds
        assert client.get("/find/", {"town": "Avon"}).status_code == 200


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=120))
def test_find_page_answers_any_text_without_a_server_error(
    client: Client, reference: None, raw: str
) -> None:
    assert client.get("/find/", {"town": raw}).status_code == 200
