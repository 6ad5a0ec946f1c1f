"""API: GET /api/locate and the reference geography (towns, troops, PSAPs).

Public data, so these endpoints need no credentials. Every jurisdiction fact is returned with
its provenance (sourced / inferred / derived / override) so a caller can tell a fact a source
states from one the platform worked out; the town detail adds the basis of each.
"""

from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.text import slugify
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from despp.core import jurisdiction
from despp.core.models import Agency, AgencyKind, Policing, Provenance, Town, Troop

router = Router()

_LAT = Field(..., ge=-90, le=90, allow_inf_nan=False, description="latitude, WGS84 degrees")
_LON = Field(..., ge=-180, le=180, allow_inf_nan=False, description="longitude, WGS84 degrees")


class Point(Schema):
    lat: float = _LAT
    lon: float = _LON


class LocateOut(Schema):
    in_state: bool
    town: str | None = None
    town_fips: str | None = None
    county: str | None = None
    troop: str | None = None
    troop_provenance: Provenance | None = None
    policing: Policing | None = None
    policing_provenance: Provenance | None = None
    police_agency: str | None = None
    police_agency_name: str | None = None
    police_agency_provenance: Provenance | None = None
    psap: str | None = None
    psap_name: str | None = None
    psap_provenance: Provenance | None = None
    nearest_town: str | None = Field(None, description="out-of-state points only")
    nearest_town_fips: str | None = None
    distance_km: float | None = Field(
        None, description="out-of-state points: distance to the nearest town's boundary"
    )


class TownOut(Schema):
    name: str
    fips_2020: str
    fips_2022: str
    county: str
    planning_region: str
    population: int
    population_year: int
    centroid_lat: float
    centroid_lon: float
    policing: Policing
    policing_provenance: Provenance
    troop: str | None
    troop_provenance: Provenance
    police_agency: str
    police_agency_name: str
    police_agency_provenance: Provenance
    psap: str | None
    psap_name: str | None
    psap_provenance: Provenance

    @staticmethod
    def resolve_county(town: Town) -> str:
        return town.county.name

    @staticmethod
    def resolve_troop(town: Town) -> str | None:
        return town.troop.code if town.troop else None

    @staticmethod
    def resolve_police_agency(town: Town) -> str:
        return town.police_agency.code

    @staticmethod
    def resolve_police_agency_name(town: Town) -> str:
        return town.police_agency.name

    @staticmethod
    def resolve_psap(town: Town) -> str | None:
        return town.psap.code if town.psap else None

    @staticmethod
    def resolve_psap_name(town: Town) -> str | None:
        return town.psap.name if town.psap else None


class TownDetailOut(TownOut):
    population_source: str
    land_area_m2: int
    water_area_m2: int
    policing_basis: str
    ucr_2013_agency_columns: str
    police_agency_basis: str
    troop_basis: str
    troop_confidence: str
    troop_evidence: str
    troop_sources: str
    troop_candidate: str
    troop_candidate_basis: str
    psap_basis: str
    resident_trooper_evidence: str
    sources: str
    notes: str


class TroopOut(Schema):
    code: str
    agency: str
    name: str
    barracks_town: str | None
    barracks_locality: str
    barracks_address: str
    district: str
    dispatch_center: str | None
    dispatch_center_provenance: Provenance
    dispatch_center_basis: str
    towns: int
    sources: str

    @staticmethod
    def resolve_agency(troop: Troop) -> str:
        return troop.agency.code

    @staticmethod
    def resolve_name(troop: Troop) -> str:
        return troop.agency.name

    @staticmethod
    def resolve_barracks_town(troop: Troop) -> str | None:
        return troop.barracks_town.name if troop.barracks_town else None

    @staticmethod
    def resolve_dispatch_center(troop: Troop) -> str | None:
        return troop.dispatch_center.code if troop.dispatch_center else None

    @staticmethod
    def resolve_towns(troop: Troop) -> int:
        return troop.town_count  # type: ignore[attr-defined]


class PsapOut(Schema):
    code: str
    name: str
    town: str | None
    provenance: Provenance
    towns_served: int
    sources: str
    notes: str

    @staticmethod
    def resolve_town(agency: Agency) -> str | None:
        return agency.town.name if agency.town else None

    @staticmethod
    def resolve_towns_served(agency: Agency) -> int:
        return agency.served  # type: ignore[attr-defined]


def _towns() -> QuerySet[Town]:
    return Town.objects.select_related("county", "troop", "police_agency", "psap").defer("boundary")


@router.get(
    "/locate",
    response=LocateOut,
    auth=None,
    summary="Town, county, troop, police agency and PSAP for a point",
)
def locate(request: HttpRequest, point: Query[Point]) -> jurisdiction.Jurisdiction:
    try:
        return jurisdiction.locate(point.lat, point.lon)
    except jurisdiction.InvalidCoordinateError as exc:  # pydantic has already refused these
        raise HttpError(422, str(exc)) from exc
    except jurisdiction.ReferenceNotLoadedError as exc:
        raise HttpError(503, str(exc)) from exc


@router.get("/towns", response=list[TownOut], auth=None, summary="Every town and its assignments")
def towns(request: HttpRequest) -> QuerySet[Town]:
    return _towns()


@router.get(
    "/towns/{name}",
    response=TownDetailOut,
    auth=None,
    summary="One town (by name or slug) with the provenance and basis of each assignment",
)
def town_detail(request: HttpRequest, name: str) -> Town:
    found = _towns().filter(name__iexact=name).first()
    if found is None:
        wanted = slugify(name)
        found = next((town for town in _towns() if slugify(town.name) == wanted), None)
    if found is None:
        raise HttpError(404, f"name: no town is called {name!r}")
    return found


@router.get("/troops", response=list[TroopOut], auth=None, summary="State Police troops")
def troops(request: HttpRequest) -> QuerySet[Troop]:
    return Troop.objects.select_related("agency", "barracks_town", "dispatch_center").annotate(
        town_count=Count("towns")
    )


@router.get(
    "/psaps",
    response=list[PsapOut],
    auth=None,
    summary="911 answering points known to the platform (sourced and derived)",
)
def psaps(request: HttpRequest) -> QuerySet[Agency]:
    return (
        Agency.objects.filter(kind=AgencyKind.PSAP)
        .select_related("town")
        .annotate(served=Count("psap_towns"))
        .order_by("code")
    )
