"""Read and check a reference dataset directory (the shipped Connecticut one by default).

Every file is read as UTF-8 CSV/GeoJSON; any defect (a missing column, a town named in one file
but not another, an invalid or overlapping polygon, a troop that does not exist) raises
ReferenceDataError naming the file, the row and the column, before anything is written.
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

DEFAULT_DATASET = Path(__file__).resolve().parent / "ct"

_TOWN_COLUMNS = (
    "town",
    "town_fips_2020",
    "town_fips_2022",
    "county",
    "county_fips",
    "planning_region",
    "population",
    "population_year",
    "population_source",
    "land_area_m2",
    "water_area_m2",
    "centroid_lat",
    "centroid_lon",
)
_POLICING_COLUMNS = (
    "town",
    "ucr_2013_agency_columns",
    "primary_policing_2013",
    "csp_troop",
    "troop_confidence",
    "troop_evidence",
    "troop_sources",
    "troop_inferred_candidate",
    "troop_inference_basis",
    "resident_trooper_evidence",
    "notes",
)
_TROOP_COLUMNS = (
    "troop",
    "barracks_town",
    "barracks_locality",
    "barracks_address",
    "district",
    "dispatch_note",
    "towns_served_count_reported",
    "sources",
    "notes",
)
_PSAP_COLUMNS = ("name", "town", "type", "serves", "as_of", "sources", "notes")
_AGENCY_COLUMNS = (
    "code",
    "name",
    "kind",
    "parent",
    "town",
    "serves",
    "source_psap_name",
    "sources",
    "notes",
)
POLICING_VALUES = frozenset({"municipal_pd", "state_police", "split", "state_police_inferred"})


class ReferenceDataError(ValueError):
    """A reference dataset file is missing, malformed or inconsistent."""

    def __init__(self, file: str, message: str, *, row: int | None = None, column: str = ""):
        where = file + (f" row {row}" if row is not None else "")
        where += f" column {column!r}" if column else ""
        super().__init__(f"{where}: {message}")
        self.file, self.row, self.column = file, row, column


@dataclass(frozen=True)
class TownRow:
    name: str
    fips_2020: str
    fips_2022: str
    county: str
    county_fips: str
    planning_region: str
    population: int
    population_year: int
    population_source: str
    land_area_m2: int
    water_area_m2: int
    centroid_lat: float
    centroid_lon: float
    boundary: dict[str, Any]
    geometry: shapely.Geometry


@dataclass(frozen=True)
class PolicingRow:
    town: str
    ucr_labels: tuple[str, ...]
    ucr_columns: str
    primary_policing: str
    csp_troop: str
    troop_confidence: str
    troop_evidence: str
    troop_sources: str
    troop_candidate: str
    troop_candidate_basis: str
    resident_trooper_evidence: str
    notes: str


@dataclass(frozen=True)
class TroopRow:
    code: str
    barracks_town: str
    barracks_locality: str
    barracks_address: str
    district: str
    dispatch_note: str
    towns_served_count_reported: str
    sources: str
    notes: str


@dataclass(frozen=True)
class PsapRow:
    name: str
    town: str
    type: str
    serves: str
    as_of: str
    sources: str
    notes: str


@dataclass(frozen=True)
class AgencyRow:
    code: str
    name: str
    kind: str
    parent: str
    town: str
    serves: str
    source_psap_name: str
    sources: str
    notes: str


@dataclass(frozen=True)
class Dataset:
    path: Path
    towns: tuple[TownRow, ...]  # in 2020 FIPS order
    policing: dict[str, PolicingRow]
    troops: dict[str, TroopRow]
    psaps: dict[str, PsapRow]  # by name
    agencies: tuple[AgencyRow, ...]
    by_name: dict[str, TownRow]


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise ReferenceDataError(path.name, f"cannot be read ({exc.strerror})") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceDataError(path.name, f"missing column(s) {', '.join(missing)}")
        for number, row in enumerate(reader, start=2):  # row 1 is the header
            yield number, {key: (value or "").strip() for key, value in row.items() if key}


def _number(file: str, row: int, column: str, text: str, kind: type[int] | type[float]) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise ReferenceDataError(
            file, f"{text!r} is not a number", row=row, column=column
        ) from None
    if value < 0 and column not in {"centroid_lat", "centroid_lon"}:
        raise ReferenceDataError(file, f"{text!r} is negative", row=row, column=column)
    return value


def _digits(file: str, row: int, column: str, text: str, length: int) -> str:
    if len(text) != length or not text.isdigit():
        raise ReferenceDataError(file, f"{text!r} must be {length} digits", row=row, column=column)
    return text


def _read_boundaries(path: Path) -> dict[str, tuple[dict[str, Any], shapely.Geometry, str]]:
    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(path.name, f"is not readable GeoJSON ({exc})") from exc
    found: dict[str, tuple[dict[str, Any], shapely.Geometry, str]] = {}
    for number, feature in enumerate(collection.get("features", []), start=1):
        properties = feature.get("properties") or {}
        name = properties.get("town", "")
        geometry = feature.get("geometry") or {}
        if geometry.get("type") not in {"Polygon", "MultiPolygon"}:
            raise ReferenceDataError(path.name, "geometry must be a (Multi)Polygon", row=number)
        polygon = shape(geometry)
        if not polygon.is_valid or polygon.is_empty:
            raise ReferenceDataError(path.name, f"{name}: polygon is invalid", row=number)
        if name in found:
            raise ReferenceDataError(path.name, f"town {name!r} appears twice", row=number)
        found[name] = (geometry, polygon, properties.get("town_fips_2020", ""))
    return found


def _read_towns(path: Path) -> list[TownRow]:
    boundaries = _read_boundaries(path / "town_boundaries.geojson")
    towns: list[TownRow] = []
    seen: set[str] = set()
    for number, row in _rows(path / "towns.csv", _TOWN_COLUMNS):
        file = "towns.csv"
        name = row["town"]
        if not name or name in seen:
            raise ReferenceDataError(file, f"town {name!r} is empty or repeated", row=number)
        seen.add(name)
        if name not in boundaries:
            raise ReferenceDataError(
                "town_boundaries.geojson", f"has no polygon for town {name!r} (towns.csv)"
            )
        boundary, polygon, boundary_fips = boundaries[name]
        town = TownRow(
            name=name,
            fips_2020=_digits(file, number, "town_fips_2020", row["town_fips_2020"], 10),
            fips_2022=_digits(file, number, "town_fips_2022", row["town_fips_2022"], 10),
            county=row["county"],
            county_fips=_digits(file, number, "county_fips", row["county_fips"], 5),
            planning_region=row["planning_region"],
            population=_number(file, number, "population", row["population"], int),
            population_year=_number(file, number, "population_year", row["population_year"], int),
            population_source=row["population_source"],
            land_area_m2=_number(file, number, "land_area_m2", row["land_area_m2"], int),
            water_area_m2=_number(file, number, "water_area_m2", row["water_area_m2"], int),
            centroid_lat=_number(file, number, "centroid_lat", row["centroid_lat"], float),
            centroid_lon=_number(file, number, "centroid_lon", row["centroid_lon"], float),
            boundary=boundary,
            geometry=polygon,
        )
        if boundary_fips != town.fips_2020:
            raise ReferenceDataError(
                "town_boundaries.geojson", f"{name}: FIPS {boundary_fips!r} != {town.fips_2020!r}"
            )
        if not polygon.covers(shapely.Point(town.centroid_lon, town.centroid_lat)):
            raise ReferenceDataError(
                file, f"{name}: centroid is outside its polygon", row=number, column="centroid_lat"
            )
        towns.append(town)
    extra = set(boundaries) - seen
    if extra:
        raise ReferenceDataError(
            "town_boundaries.geojson", f"towns not in towns.csv: {', '.join(sorted(extra))}"
        )
    towns.sort(key=lambda town: town.fips_2020)
    _check_no_overlaps(towns)
    return towns


def _check_no_overlaps(towns: list[TownRow]) -> None:
    """Towns must partition the state: two interiors that overlap would make locate ambiguous."""
    geometries = [town.geometry for town in towns]
    left, right = shapely.STRtree(geometries).query(geometries, predicate="overlaps")
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a < b:
            raise ReferenceDataError(
                "town_boundaries.geojson", f"{towns[a].name} and {towns[b].name} overlap"
            )


def _read_policing(path: Path, names: set[str]) -> dict[str, PolicingRow]:
    rows: dict[str, PolicingRow] = {}
    for number, row in _rows(path / "town_policing.csv", _POLICING_COLUMNS):
        name = row["town"]
        if name not in names or name in rows:
            raise ReferenceDataError(
                "town_policing.csv", f"town {name!r} is unknown or repeated", row=number
            )
        if row["primary_policing_2013"] not in POLICING_VALUES:
            raise ReferenceDataError(
                "town_policing.csv",
                f"{row['primary_policing_2013']!r} is not one of {sorted(POLICING_VALUES)}",
                row=number,
                column="primary_policing_2013",
            )
        labels = tuple(label.strip() for label in row["ucr_2013_agency_columns"].split("|"))
        rows[name] = PolicingRow(
            town=name,
            ucr_labels=tuple(label for label in labels if label),
            ucr_columns=row["ucr_2013_agency_columns"],
            primary_policing=row["primary_policing_2013"],
            csp_troop=row["csp_troop"],
            troop_confidence=row["troop_confidence"],
            troop_evidence=row["troop_evidence"],
            troop_sources=row["troop_sources"],
            troop_candidate=row["troop_inferred_candidate"],
            troop_candidate_basis=row["troop_inference_basis"],
            resident_trooper_evidence=row["resident_trooper_evidence"],
            notes=row["notes"],
        )
    missing = names - set(rows)
    if missing:
        raise ReferenceDataError(
            "town_policing.csv", f"has no row for {', '.join(sorted(missing))}"
        )
    return rows


def _read_troops(path: Path, names: set[str]) -> dict[str, TroopRow]:
    troops: dict[str, TroopRow] = {}
    for number, row in _rows(path / "csp_troops.csv", _TROOP_COLUMNS):
        code = row["troop"]
        if len(code) != 1 or not code.isalpha() or code in troops:
            raise ReferenceDataError(
                "csp_troops.csv",
                f"{code!r} is not a new one-letter code",
                row=number,
                column="troop",
            )
        if row["barracks_town"] not in names:
            raise ReferenceDataError(
                "csp_troops.csv",
                f"{row['barracks_town']!r} is not a town",
                row=number,
                column="barracks_town",
            )
        troops[code] = TroopRow(
            code=code,
            barracks_town=row["barracks_town"],
            barracks_locality=row["barracks_locality"],
            barracks_address=row["barracks_address"],
            district=row["district"],
            dispatch_note=row["dispatch_note"],
            towns_served_count_reported=row["towns_served_count_reported"],
            sources=row["sources"],
            notes=row["notes"],
        )
    return troops


def _read_psaps(path: Path, names: set[str]) -> dict[str, PsapRow]:
    psaps: dict[str, PsapRow] = {}
    for number, row in _rows(path / "psaps_partial.csv", _PSAP_COLUMNS):
        if row["town"] and row["town"] not in names:
            raise ReferenceDataError(
                "psaps_partial.csv", f"{row['town']!r} is not a town", row=number, column="town"
            )
        psaps[row["name"]] = PsapRow(**{column: row[column] for column in _PSAP_COLUMNS})
    return psaps


def _read_agencies(path: Path, names: set[str], psaps: dict[str, PsapRow]) -> list[AgencyRow]:
    agencies: list[AgencyRow] = []
    for number, row in _rows(path / "agencies.csv", _AGENCY_COLUMNS):
        agency = AgencyRow(**{column: row[column] for column in _AGENCY_COLUMNS})
        if agency.town and agency.town not in names:
            raise ReferenceDataError(
                "agencies.csv", f"{agency.town!r} is not a town", row=number, column="town"
            )
        if agency.source_psap_name and agency.source_psap_name not in psaps:
            raise ReferenceDataError(
                "agencies.csv",
                f"{agency.source_psap_name!r} is not in psaps_partial.csv",
                row=number,
                column="source_psap_name",
            )
        if agency.serves and not (agency.serves == "town" or agency.serves.startswith("district:")):
            raise ReferenceDataError(
                "agencies.csv",
                "must be empty, 'town' or 'district:<name>'",
                row=number,
                column="serves",
            )
        agencies.append(agency)
    unmapped = set(psaps) - {a.source_psap_name for a in agencies}
    if unmapped:
        raise ReferenceDataError(
            "agencies.csv", f"no agency for PSAP(s) {', '.join(sorted(unmapped))}"
        )
    return agencies


def read_dataset(path: Path = DEFAULT_DATASET) -> Dataset:
    """Parse and cross-check every file of the dataset in `path`."""
    towns = _read_towns(path)
    names = {town.name for town in towns}
    psaps = _read_psaps(path, names)
    return Dataset(
        path=path,
        towns=tuple(towns),
        by_name={town.name: town for town in towns},
        policing=_read_policing(path, names),
        troops=_read_troops(path, names),
        psaps=psaps,
        agencies=tuple(_read_agencies(path, names, psaps)),
    )
