"""Where a call is: validating what the call-taker gave, and the location type-ahead.

    resolve_location(lat=, lon=, uncertainty_m=, place_id=, town=) -> ResolvedLocation
    search_places(text, limit=) -> list[Candidate]          GET /api/dispatch/places?q=
    parse_coordinates(text) -> list[tuple[float, float]]     "41.76, -72.68", "41.76N 72.68W"
    parse_mile_marker(text) -> (route, mile) | None           "I-84 mm 62", "rt 2 mile 15"

Everything is checked against the shipped geography before it is saved: a place must exist, a
town must be one of the state's towns, coordinates must be numbers in range and in or near the
state. Nothing here geocodes: a civic address is kept as typed with the town the call-taker
picked, and no point is invented for it. What the call-taker typed (`location_text`) is stored
beside whatever was picked and never replaced.

Precedence for the jurisdiction answer: a picked common place, then a picked town, then the
coordinates (device location or typed). The point used for distances and the map is the
place's, else the coordinates; a town alone gives no point.
"""

import math
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from despp.core import jurisdiction
from despp.core.jurisdiction import Jurisdiction, JurisdictionIndex
from despp.dispatch.models import CommonPlace, PlaceKind

# A point farther than this outside Connecticut is refused: the state's PSAPs do not serve it
# (a wireless call near a border can land here and is then transferred, so a margin is kept).
MAX_OUT_OF_STATE_KM = 50.0
MAX_UNCERTAINTY_M = 100_000
EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


# --- the towns of the loaded index, by id, FIPS and name --------------------------------------


@dataclass(frozen=True)
class _TownAnswers:
    index: JurisdictionIndex
    by_id: dict[int, Jurisdiction]
    by_fips: dict[str, Jurisdiction]
    by_name: dict[str, Jurisdiction]


_answers: _TownAnswers | None = None


def town_answers() -> _TownAnswers:
    """Per-town answers of the current jurisdiction index (rebuilt when the index is)."""
    global _answers
    index = jurisdiction.get_index()
    cached = _answers
    if cached is None or cached.index is not index:
        towns = index.towns
        cached = _TownAnswers(
            index,
            {a.town_id: a for a in towns if a.town_id is not None},
            {a.town_fips: a for a in towns if a.town_fips},
            {a.town.casefold(): a for a in towns if a.town},
        )
        _answers = cached
    return cached


def routing_answer(answer: Jurisdiction) -> Jurisdiction:
    """The answer whose PSAP takes the call: the town's own, or for a point outside the state
    the nearest town's (the call is then marked out of state)."""
    if answer.in_state or answer.nearest_town_fips is None:
        return answer
    return town_answers().by_fips.get(answer.nearest_town_fips, answer)


# --- resolving a call's location ---------------------------------------------------------


@dataclass(frozen=True)
class ResolvedLocation:
    answer: Jurisdiction  # the jurisdiction (explicitly out of state when in_state is False)
    lat: float | None  # the point for distances and the map (None: a town alone)
    lon: float | None
    place: CommonPlace | None
    basis: str  # "place", "town" or "coordinates"

    @property
    def town_id(self) -> int | None:
        return self.answer.town_id

    @property
    def psap_id(self) -> int | None:
        return routing_answer(self.answer).psap_id

    @property
    def psap_code(self) -> str | None:
        return routing_answer(self.answer).psap


def check_point(lat: Any, lon: Any) -> tuple[float, float, Jurisdiction]:
    """Coordinates as floats with their jurisdiction; ValidationError naming lat or lon."""
    if lat is None or lon is None:
        missing = "lon" if lon is None else "lat"
        other = "lat" if missing == "lon" else "lon"
        raise ValidationError({missing: f"is required when {other} is given"})
    try:
        lat_f, lon_f = jurisdiction.check_coordinates(lat, lon)
    except jurisdiction.InvalidCoordinateError as exc:
        raise ValidationError({exc.field: exc.message}) from exc
    answer = jurisdiction.locate(lat_f, lon_f)
    if not answer.in_state and (answer.distance_km or 0.0) > MAX_OUT_OF_STATE_KM:
        raise ValidationError(
            {
                "lat": f"({lat_f:.5f}, {lon_f:.5f}) is {answer.distance_km:.0f} km outside "
                f"Connecticut (nearest town {answer.nearest_town}); no PSAP here serves it"
            }
        )
    return lat_f, lon_f, answer


def resolve_location(
    *,
    lat: Any = None,
    lon: Any = None,
    uncertainty_m: Any = None,
    place_id: Any = None,
    town: str | None = None,
) -> ResolvedLocation:
    """Validate and resolve a location (see the module docstring for precedence).

    Raises ValidationError naming the field: lat/lon (one without the other, not a number, out
    of range, far outside the state), uncertainty_m (negative, over 100 km, or without a
    point), place_id (no such place), town (no such town), or lat when nothing locates the call.
    """
    point_answer: Jurisdiction | None = None
    lat_f = lon_f = None
    if lat is not None or lon is not None:
        lat_f, lon_f, point_answer = check_point(lat, lon)
    if uncertainty_m is not None:
        if isinstance(uncertainty_m, bool) or not isinstance(uncertainty_m, int):
            raise ValidationError({"uncertainty_m": "must be a whole number of metres"})
        if not 0 <= uncertainty_m <= MAX_UNCERTAINTY_M:
            raise ValidationError(
                {"uncertainty_m": f"must be from 0 to {MAX_UNCERTAINTY_M} metres"}
            )
        if point_answer is None:
            raise ValidationError({"uncertainty_m": "is only meaningful with lat and lon"})
    town_answer: Jurisdiction | None = None
    if town is not None and town.strip():
        town_answer = town_answers().by_name.get(town.strip().casefold())
        if town_answer is None:
            raise ValidationError({"town": f"{town.strip()!r} is not a Connecticut town"})
    if place_id is not None:
        if isinstance(place_id, bool) or not isinstance(place_id, int):
            raise ValidationError({"place_id": "must be the id of a common place"})
        place = CommonPlace.objects.filter(pk=place_id).first()
        if place is None:
            raise ValidationError({"place_id": f"no common place has id {place_id}"})
        answer = town_answers().by_id.get(place.town_id)
        if answer is None:  # the town was removed from the reference data since
            answer = jurisdiction.locate(place.lat, place.lon)
        return ResolvedLocation(answer, place.lat, place.lon, place, "place")
    if town_answer is not None:
        return ResolvedLocation(town_answer, lat_f, lon_f, None, "town")
    if point_answer is not None:
        return ResolvedLocation(point_answer, lat_f, lon_f, None, "coordinates")
    raise ValidationError(
        {"lat": "a location is required: lat and lon, a place_id, or a town (with the address)"}
    )


# --- parsing what a call-taker types ---------------------------------------------------------

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,3})?"
_COORDS = re.compile(
    rf"^\s*\(?\s*(?P<a>{_NUMBER})\s*°?\s*(?P<ah>[NSEW])?\s*[,;\s]\s*"
    rf"(?P<b>{_NUMBER})\s*°?\s*(?P<bh>[NSEW])?\s*\)?\s*$",
    re.IGNORECASE,
)


def _signed(value: float, hemisphere: str | None) -> float:
    if hemisphere and hemisphere.upper() in {"S", "W"}:
        return -abs(value)
    return value


def parse_coordinates(text: str) -> list[tuple[float, float]]:
    """Readings of `text` as decimal degrees (lat, lon), most likely first; [] if none.

    Accepts "41.7637, -72.6851", "41.7637 -72.6851", "(41.76,-72.68)", "41.76N 72.68W" and
    the reversed "72.68W 41.76N" (hemisphere letters decide). Two bare numbers are read as
    lat, lon; when the first cannot be a latitude but the second can, as lon, lat. Only values
    in range are returned; whether the point is in the state is checked by the caller.
    """
    match = _COORDS.match(text)
    if match is None:
        return []
    a, b = float(match["a"]), float(match["b"])
    ah, bh = (match["ah"] or "").upper(), (match["bh"] or "").upper()
    if not (math.isfinite(a) and math.isfinite(b)):
        return []
    readings: list[tuple[float, float]] = []
    if ah in {"E", "W"} or bh in {"N", "S"}:
        if ah in {"N", "S"} or bh in {"E", "W"}:
            return []  # "41N 72N": contradictory letters
        readings.append((_signed(b, bh), _signed(a, ah)))
    elif ah or bh:
        readings.append((_signed(a, ah), _signed(b, bh)))
    else:
        readings.append((a, b))
        if abs(a) > 90 and abs(b) <= 90:
            readings = [(b, a)]
    return [(lat, lon) for lat, lon in readings if abs(lat) <= 90 and abs(lon) <= 180]


_ROUTE = re.compile(
    r"^\s*(?:(?P<interstate>i|interstate)\s*-?\s*(?P<i>\d{2,3})|(?:route|rte|rt|ct|sr)\s*-?\s*"
    r"(?P<r>\d{1,3}))\s*(?:(?:mm|mile\s*marker|mile|mi|marker|m)\s*\.?\s*)?"
    r"(?P<mile>\d+(?:\.\d+)?)?\s*$",
    re.IGNORECASE,
)


def parse_mile_marker(text: str) -> tuple[str, float | None] | None:
    """("I-84", 62.0) from "I-84 mm 62", "i84 62", "Interstate 84 mile 62"; ("Route 2", 15.0)
    from "rt 2 mile 15"; the mile is None when only the route was typed; None otherwise."""
    match = _ROUTE.match(text)
    if match is None:
        return None
    route = f"I-{int(match['i'])}" if match["i"] else f"Route {int(match['r'])}"
    mile = float(match["mile"]) if match["mile"] else None
    return route, mile


# --- the type-ahead --------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    kind: str  # "coordinates", "town", a PlaceKind value, or "mile_marker_interpolated"
    label: str
    lat: float | None
    lon: float | None
    place_id: int | None
    answer: Jurisdiction
    note: str = ""


def _mile_candidates(route: str, mile: float | None, limit: int) -> list[Candidate]:
    markers = []
    for place in (
        CommonPlace.objects.filter(kind=PlaceKind.MILE_MARKER, name__istartswith=f"{route} mile ")
        .select_related("town")
        .defer("town__boundary")
    ):
        try:
            markers.append((float(place.name.rsplit(" ", 1)[1]), place))
        except ValueError:
            continue
    markers.sort(key=lambda item: item[0])
    if not markers:
        return []
    answers = town_answers().by_id

    def from_place(place: CommonPlace) -> Candidate:
        answer = answers.get(place.town_id) or jurisdiction.locate(place.lat, place.lon)
        return Candidate(
            PlaceKind.MILE_MARKER, str(place), place.lat, place.lon, place.pk, answer, place.source
        )

    if mile is None:
        return [from_place(place) for _, place in markers[:limit]]
    exact = [place for value, place in markers if value == mile]
    if exact:
        return [from_place(exact[0])]
    below = [(value, place) for value, place in markers if value < mile]
    above = [(value, place) for value, place in markers if value > mile]
    if not below or not above:
        return []  # beyond the shipped markers: no guess
    (m0, p0), (m1, p1) = below[-1], above[0]
    t = (mile - m0) / (m1 - m0)
    lat, lon = p0.lat + t * (p1.lat - p0.lat), p0.lon + t * (p1.lon - p0.lon)
    answer = jurisdiction.locate(lat, lon)
    return [
        Candidate(
            "mile_marker_interpolated",
            f"{route} mile {mile:g}",
            round(lat, 6),
            round(lon, 6),
            None,
            answer,
            f"interpolated between the shipped markers at mile {m0:g} and {m1:g}",
        ),
        from_place(p0),
        from_place(p1),
    ]


def search_places(text: str, limit: int = 10) -> list[Candidate]:
    """Validated candidates for what the call-taker typed: coordinates, mile markers, towns
    and common places, each with its jurisdiction answer. Never more than `limit`."""
    query = text.strip()
    if not query:
        return []
    found: list[Candidate] = []
    for lat, lon in parse_coordinates(query):
        try:
            lat_f, lon_f, answer = check_point(lat, lon)
        except ValidationError:
            continue
        where = answer.town or f"outside Connecticut, {answer.distance_km} km from "
        where += "" if answer.town else str(answer.nearest_town)
        found.append(
            Candidate(
                "coordinates", f"{lat_f:.6f}, {lon_f:.6f} ({where})", lat_f, lon_f, None, answer
            )
        )
    if found:
        return found[:limit]
    marker = parse_mile_marker(query)
    if marker is not None:
        found += _mile_candidates(marker[0], marker[1], limit)
    folded = query.casefold()
    towns = town_answers().by_name
    town_hits = sorted(
        (answer for name, answer in towns.items() if name.startswith(folded)),
        key=lambda answer: answer.town or "",
    )
    found += [
        Candidate("town", f"{answer.town} (town)", None, None, None, answer)
        for answer in town_hits[:limit]
    ]
    if len(found) < limit:
        places = (
            CommonPlace.objects.filter(name__icontains=query)
            .select_related("town")
            .defer("town__boundary")
            .order_by("name")
        )
        answers = town_answers().by_id
        for place in places[: limit - len(found)]:
            answer = answers.get(place.town_id) or jurisdiction.locate(place.lat, place.lon)
            found.append(
                Candidate(
                    place.kind, str(place), place.lat, place.lon, place.pk, answer, place.source
                )
            )
    return found[:limit]
