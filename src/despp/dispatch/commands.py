"""The console's command line: one line of text -> one Command, or a CommandError that says
what was wrong and how to write it.

    N <nature> <location>        new incident (officer-initiated / observed)
    D <incident> <unit> [unit…] [/ reason]
                                 dispatch units (a reason when overriding the recommendation)
    S <unit> <status> [incident] status change (on the unit's one committed assignment)
    C <unit> [incident]          clear a unit
    R <incident>                 recommend units
    K <incident> <disposition>   close an incident
    A <unit>                     acknowledge a unit's emergency
    ?                            help

Verbs and codes are case-insensitive; statuses take their common radio abbreviations (ER, OS,
TR, AH, CL …). An incident is written as its number (`26-000123`, or `123` for this year's
123rd) — resolving it is the executor's job, not the parser's. Parsing never touches the
database and never raises anything but CommandError, whatever is typed (tests drive it with
random text).
"""

import re
from dataclasses import dataclass, field

from despp.dispatch.models import AssignmentStatus

MAX_LINE = 400

S = AssignmentStatus
STATUS_WORDS: dict[str, AssignmentStatus] = {
    "DISP": S.DISPATCHED,
    "DISPATCHED": S.DISPATCHED,
    "ER": S.EN_ROUTE,
    "ENR": S.EN_ROUTE,
    "ENROUTE": S.EN_ROUTE,
    "EN_ROUTE": S.EN_ROUTE,
    "RESP": S.EN_ROUTE,
    "OS": S.ON_SCENE,
    "ONS": S.ON_SCENE,
    "ONSCENE": S.ON_SCENE,
    "ON_SCENE": S.ON_SCENE,
    "ARR": S.ON_SCENE,
    "TR": S.TRANSPORTING,
    "TRANS": S.TRANSPORTING,
    "TRANSPORTING": S.TRANSPORTING,
    "AH": S.AT_HOSPITAL,
    "HOSP": S.AT_HOSPITAL,
    "AT_HOSPITAL": S.AT_HOSPITAL,
    "CL": S.CLEARED,
    "CLR": S.CLEARED,
    "CLEAR": S.CLEARED,
    "CLEARED": S.CLEARED,
}

# A call sign, nature code or disposition: letters, digits and a few joiners.
_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,19}$")
# `26-000123` (year-number) or `123` (this year).
_INCIDENT = re.compile(r"^(?:(\d{2})-)?0*(\d{1,9})$")


class CommandError(ValueError):
    """What the dispatcher typed cannot be carried out as written; the message says why."""


@dataclass(frozen=True)
class IncidentRef:
    number: int
    year: int | None = None  # two digits; None means the current year

    def __str__(self) -> str:
        return f"{self.year:02d}-{self.number:06d}" if self.year is not None else str(self.number)


@dataclass(frozen=True)
class NewIncident:
    nature: str
    location: str


@dataclass(frozen=True)
class Dispatch:
    incident: IncidentRef
    units: tuple[str, ...]
    reason: str = ""  # why other units than the recommended ones (an override)


@dataclass(frozen=True)
class ChangeStatus:
    unit: str
    status: AssignmentStatus
    incident: IncidentRef | None = None


@dataclass(frozen=True)
class Clear:
    unit: str
    incident: IncidentRef | None = None


@dataclass(frozen=True)
class Recommend:
    incident: IncidentRef


@dataclass(frozen=True)
class Close:
    incident: IncidentRef
    disposition: str


@dataclass(frozen=True)
class Acknowledge:
    unit: str


@dataclass(frozen=True)
class Help:
    topic: str = ""


Command = NewIncident | Dispatch | ChangeStatus | Clear | Recommend | Close | Acknowledge | Help


@dataclass(frozen=True)
class Verb:
    letter: str
    usage: str
    meaning: str
    aliases: tuple[str, ...] = field(default=())


VERBS: tuple[Verb, ...] = (
    Verb("N", "N <nature> <location>", "new incident at a location", ("NEW",)),
    Verb(
        "D",
        "D <incident> <unit> [unit…] [/ reason]",
        "dispatch units (a reason after / when overriding the recommendation)",
        ("DISPATCH",),
    ),
    Verb("S", "S <unit> <status> [incident]", "change a unit's status", ("STATUS",)),
    Verb("C", "C <unit> [incident]", "clear a unit from its incident", ("CLEAR",)),
    Verb("R", "R <incident>", "recommend units for an incident", ("REC", "RECOMMEND")),
    Verb("K", "K <incident> <disposition>", "close an incident", ("CLOSE",)),
    Verb("A", "A <unit>", "acknowledge a unit's emergency", ("ACK",)),
    Verb("?", "?", "show this help", ("H", "HELP")),
)
_BY_WORD = {word: verb.letter for verb in VERBS for word in (verb.letter, *verb.aliases)}
STATUS_HELP = "ER en route, OS on scene, TR transporting, AH at hospital, CL cleared"


def usage(letter: str) -> str:
    return next(verb.usage for verb in VERBS if verb.letter == letter)


def _unit(word: str, letter: str) -> str:
    if not _TOKEN.match(word):
        raise CommandError(f"{word[:24]!r} is not a unit call sign. Usage: {usage(letter)}")
    return word.upper()


def _code(word: str, what: str, letter: str) -> str:
    if not _TOKEN.match(word):
        raise CommandError(f"{word[:24]!r} is not a {what} code. Usage: {usage(letter)}")
    return word.upper()


def parse_incident(word: str, letter: str = "D") -> IncidentRef:
    match = _INCIDENT.match(word)
    if match is None or int(match.group(2)) == 0:
        raise CommandError(
            f"{word[:24]!r} is not an incident number (write 26-000123, or 123 for this "
            f"year's). Usage: {usage(letter)}"
        )
    year = int(match.group(1)) if match.group(1) else None
    return IncidentRef(number=int(match.group(2)), year=year)


def _status(word: str) -> AssignmentStatus:
    status = STATUS_WORDS.get(word.upper())
    if status is None:
        raise CommandError(f"{word[:24]!r} is not a unit status. Statuses: {STATUS_HELP}.")
    return status


def _arity(words: list[str], letter: str, least: int, most: int | None) -> None:
    if len(words) < least or (most is not None and len(words) > most):
        raise CommandError(f"Usage: {usage(letter)}")


def parse(line: str) -> Command:
    """One typed line -> a Command; CommandError (with the usage) for anything else."""
    if len(line) > MAX_LINE:
        raise CommandError(f"A command is at most {MAX_LINE} characters.")
    words = line.split()
    if not words:
        raise CommandError("Type a command, or ? for the list of commands.")
    head, args = words[0].upper(), words[1:]
    letter = _BY_WORD.get(head)
    if letter is None:
        raise CommandError(f"{words[0][:24]!r} is not a command. Type ? for the list.")
    if letter == "?":
        return Help(topic=" ".join(args)[:40])
    if letter == "N":
        _arity(args, letter, 2, None)
        location = " ".join(args[1:])
        return NewIncident(nature=_code(args[0], "nature", letter), location=location)
    if letter == "D":
        reason = ""
        if "/" in args:
            cut = args.index("/")
            args, reason = args[:cut], " ".join(args[cut + 1 :])
            if not reason:
                raise CommandError(f"Give the reason after the /. Usage: {usage(letter)}")
        _arity(args, letter, 2, None)
        units = tuple(dict.fromkeys(_unit(word, letter) for word in args[1:]))
        return Dispatch(incident=parse_incident(args[0], letter), units=units, reason=reason)
    if letter == "S":
        _arity(args, letter, 2, 3)
        incident = parse_incident(args[2], letter) if len(args) == 3 else None
        return ChangeStatus(unit=_unit(args[0], letter), status=_status(args[1]), incident=incident)
    if letter == "C":
        _arity(args, letter, 1, 2)
        incident = parse_incident(args[1], letter) if len(args) == 2 else None
        return Clear(unit=_unit(args[0], letter), incident=incident)
    if letter == "R":
        _arity(args, letter, 1, 1)
        return Recommend(incident=parse_incident(args[0], letter))
    if letter == "K":
        _arity(args, letter, 2, 2)
        return Close(
            incident=parse_incident(args[0], letter),
            disposition=_code(args[1], "disposition", letter),
        )
    _arity(args, letter, 1, 1)
    return Acknowledge(unit=_unit(args[0], letter))
