"""Site search: what it finds, in what order, and how it answers queries it cannot run."""

import pytest
from django.test import Client
from django.utils.html import escape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from despp.portal.search import MAX_QUERY_LENGTH, MAX_TERMS, QueryProblem, index, search


def titles(query: str) -> list[str]:
    return [entry.title for entry in search(query).results]


def test_acronym_finds_its_division_first() -> None:
    assert titles("CSP")[0] == "Connecticut State Police"
    assert titles("dset")[0] == "Statewide Emergency Telecommunications"


def test_entries_matching_in_the_title_rank_above_entries_matching_only_in_the_text() -> None:
    results = search("training").results
    in_title = ["training" in entry.title.lower() for entry in results]
    assert any(in_title) and not all(in_title)
    first_text_only = in_title.index(False)
    assert all(in_title[:first_text_only]) and not any(in_title[first_text_only:])


def test_a_word_prefix_finds_longer_words() -> None:
    assert "Certification exams" in titles("certif")


def test_a_plural_finds_the_singular() -> None:
    assert "Firefighter certification status" in titles("firefighters")


def test_every_word_of_the_query_must_match() -> None:
    assert "Certification exams" in titles("fire exams")
    assert titles("fire zebra") == []


def test_search_ignores_case_punctuation_and_extra_spaces() -> None:
    assert titles("  CT   ALERT!! ") == titles("ct alert")
    assert titles("ct alert")[0] == "CT Alert emergency notifications"


def test_search_finds_a_division_by_the_other_name_the_seed_page_uses() -> None:
    assert titles("Statewide Emergency Communications")[0] == (
        "Statewide Emergency Telecommunications"
    )


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("", QueryProblem.EMPTY),
        (" \t\n ", QueryProblem.EMPTY),
        ("x" * (MAX_QUERY_LENGTH + 1), QueryProblem.TOO_LONG),
        ("?! -- ...", QueryProblem.NO_WORDS),
        (" ".join(f"w{n}" for n in range(MAX_TERMS + 1)), QueryProblem.TOO_MANY_WORDS),
    ],
)
def test_queries_that_cannot_run_name_the_problem_and_return_nothing(
    query: str, problem: QueryProblem
) -> None:
    outcome = search(query)
    assert outcome.problem == problem
    assert outcome.results == ()


def test_a_query_of_exactly_the_maximum_length_still_runs() -> None:
    outcome = search("fire " + "x" * (MAX_QUERY_LENGTH - 5))
    assert outcome.problem is None


@given(st.text(max_size=MAX_QUERY_LENGTH + 50))
def test_any_text_gives_an_outcome_without_duplicates_and_only_indexed_entries(raw: str) -> None:
    outcome = search(raw)
    assert len(set(outcome.results)) == len(outcome.results)
    assert set(outcome.results) <= set(index())
    assert outcome.problem is None or outcome.results == ()


def test_search_page_without_a_query_shows_the_form_and_no_error(client: Client) -> None:
    html = client.get("/search/").content.decode()
    assert '<input class="input" id="search-q" name="q" type="search" value=""' in html
    assert "There is a problem" not in html


def test_submitting_an_empty_search_shows_the_error_summary_linked_to_the_field(
    client: Client,
) -> None:
    response = client.get("/search/", {"q": "   "})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Error: Search" in html
    assert '<a href="#search-q">Enter a word or phrase to search for.</a>' in html
    assert 'aria-invalid="true" aria-describedby="search-q-error"' in html


def test_a_too_long_search_says_how_long_a_search_may_be(client: Client) -> None:
    html = client.get("/search/", {"q": "a" * 500}).content.decode()
    assert f"of {MAX_QUERY_LENGTH} characters or fewer" in html
    assert "result" not in html.split("<main", 1)[1].split("Browse the divisions")[0].lower()


def test_search_page_lists_results_with_links_and_their_division(client: Client) -> None:
    html = client.get("/search/", {"q": "chain of custody"}).content.decode()
    assert "1 result for \u2018chain of custody\u2019" in html
    assert '<a href="/divisions/scientific-services/#chain-of-custody">Chain of custody</a>' in html
    assert "Resource · Scientific Services" in html


def test_search_page_says_when_nothing_matched_and_offers_the_divisions(client: Client) -> None:
    html = client.get("/search/", {"q": "zebra crossing"}).content.decode()
    assert "No results for \u2018zebra crossing\u2019" in html
    assert 'href="/divisions/state-police/"' in html


def test_search_page_escapes_the_query(client: Client) -> None:
    attack = '<script>alert("x")</script>'
    html = client.get("/search/", {"q": attack}).content.decode()
    assert attack not in html
    assert escape(attack) in html


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=400))
def test_search_page_answers_any_query_without_a_server_error(client: Client, raw: str) -> None:
    response = client.get("/search/", {"q": raw})
    assert response.status_code == 200
    assert b"Search this site" in response.content
