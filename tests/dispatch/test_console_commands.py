"""The console's command line parser: every line gives a command or a clear CommandError."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from despp.dispatch import commands
from despp.dispatch.commands import (
    Acknowledge,
    ChangeStatus,
    Clear,
    Close,
    CommandError,
    Dispatch,
    Help,
    IncidentRef,
    NewIncident,
    Recommend,
    parse,
)
from despp.dispatch.models import AssignmentStatus as S


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("N ALRF 12 Main St, Hartford", NewIncident("ALRF", "12 Main St, Hartford")),
        ("n mva  I-84 mm 62", NewIncident("MVA", "I-84 mm 62")),
        ("D 26-000123 E41 M12", Dispatch(IncidentRef(123, 26), ("E41", "M12"))),
        ("d 17 c123 c123", Dispatch(IncidentRef(17), ("C123",))),
        (
            "D 17 C123 / closer to the scene",
            Dispatch(IncidentRef(17), ("C123",), reason="closer to the scene"),
        ),
        ("S C123 OS", ChangeStatus("C123", S.ON_SCENE)),
        ("s c123 er 26-000004", ChangeStatus("C123", S.EN_ROUTE, IncidentRef(4, 26))),
        ("S M12 ah", ChangeStatus("M12", S.AT_HOSPITAL)),
        ("C C123", Clear("C123")),
        ("clear C123 9", Clear("C123", IncidentRef(9))),
        ("R 26-000001", Recommend(IncidentRef(1, 26))),
        ("K 5 goa", Close(IncidentRef(5), "GOA")),
        ("A C123", Acknowledge("C123")),
        ("?", Help()),
        ("help", Help()),
    ],
)
def test_each_command_parses_to_what_it_says(line, expected):
    assert parse(line) == expected


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("", "Type a command"),
        ("   ", "Type a command"),
        ("X 12", "is not a command"),
        ("D 12", "Usage: D <incident>"),
        ("D abc E41", "is not an incident number"),
        ("D 0 E41", "is not an incident number"),
        ("D 12 E41 /", "Give the reason"),
        ("S C123 FLYING", "is not a unit status"),
        ("S C123", "Usage: S <unit> <status>"),
        ("K 12", "Usage: K <incident> <disposition>"),
        ("K 12 GOA extra", "Usage: K"),
        ("N ALRF", "Usage: N <nature> <location>"),
        ("N AL;RF Main St", "is not a nature code"),
        ("C C1<2>3", "is not a unit call sign"),
        ("D 12 " + "E41 " * 200, "at most"),
    ],
)
def test_a_bad_line_is_refused_with_what_was_wrong_and_the_usage(line, says):
    with pytest.raises(CommandError, match=says):
        parse(line)


def test_the_incident_number_reads_both_ways_and_prints_back():
    assert str(commands.parse_incident("26-000123")) == "26-000123"
    assert str(commands.parse_incident("0042")) == "42"


@given(st.text(max_size=500))
def test_the_parser_never_crashes_on_any_text(line):
    try:
        parsed = parse(line)
    except CommandError as error:
        assert str(error)
    else:
        assert isinstance(parsed, commands.Command)


@given(
    st.sampled_from([verb.letter for verb in commands.VERBS]),
    st.lists(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12), max_size=5),
)
def test_every_verb_with_random_arguments_parses_or_explains(letter, words):
    try:
        parse(" ".join([letter, *words]))
    except CommandError as error:
        assert str(error)


@given(
    st.from_regex(r"\A[A-Z][A-Z0-9]{0,6}\Z"),
    st.sampled_from(sorted(commands.STATUS_WORDS)),
    st.integers(min_value=1, max_value=999_999),
)
def test_a_status_word_always_lands_on_its_status(unit, word, number):
    parsed = parse(f"S {unit.lower()} {word.lower()} {number}")
    assert parsed == ChangeStatus(unit, commands.STATUS_WORDS[word], IncidentRef(number))
