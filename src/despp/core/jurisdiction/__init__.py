"""Jurisdiction index: which town, county, troop, police agency and PSAP answer for a point.

    locate(lat, lon) -> Jurisdiction           one point (in-state answer, or out-of-state
                                               with the nearest town and distance in km)
    locate_many(lats, lons) -> np.ndarray      town index per point (-1 outside), fast;
                                               get_index().towns[i] is town i's answer

Exactness: the town returned is the one whose polygon contains the point, exactly as a GEOS
or PostGIS point-in-polygon test says (see grid.py). A point on a shared border (covered by
two closed polygons) goes to the lower 2020 FIPS code; a point that no polygon covers (Long
Island Sound, another state, a gap between polygons) is out of state, with its nearest town.
Bad coordinates (non-numbers, NaN, ±inf, |lat| > 90, |lon| > 180) raise
InvalidCoordinateError, a ValueError whose `field` is "lat" or "lon".

Caching: each process builds the index from the Town rows on first use. Town polygons are
kept until the reference geometry changes; the answers (troop, agencies, provenance) are
rebuilt when the reference revision changes. The loader and the correction service invalidate
this process's copy at once; other processes notice the new revision within RECHECK_SECONDS
(one small query at most that often). Call locate() from synchronous code (it may query).
"""

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
from django.db import DatabaseError
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape

from despp.core.jurisdiction.index import (
    InvalidCoordinateError,
    Jurisdiction,
    JurisdictionIndex,
    TownGeometry,
    TownShape,
    check_coordinate_arrays,
    check_coordinates,
)

__all__ = [
    "RECHECK_SECONDS",
    "InvalidCoordinateError",
    "Jurisdiction",
    "JurisdictionIndex",
    "ReferenceNotLoadedError",
    "get_index",
    "invalidate",
    "locate",
    "locate_many",
    "warm",
]

RECHECK_SECONDS = 2.0
_clock = time.monotonic  # a seam for tests that let time pass


class ReferenceNotLoadedError(RuntimeError):
    """No reference geography in the database yet (run `despp load-reference`)."""


@dataclass(frozen=True)
class _Cached:
    index: JurisdictionIndex
    revision: int
    next_check: float


logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cached: _Cached | None = None
_geometry: TownGeometry | None = None


def invalidate() -> None:
    """Forget this process's answers; the next call reloads them (polygons too if changed)."""
    global _cached
    _cached = None


def _answers_from_database() -> list[Jurisdiction]:
    from despp.core.models import Town

    towns = Town.objects.select_related("county", "troop", "police_agency", "psap").order_by(
        "fips_2020"
    )
    return [
        Jurisdiction(
            in_state=True,
            town=town.name,
            town_fips=town.fips_2020,
            county=town.county.name,
            troop=town.troop.code if town.troop else None,
            troop_provenance=town.troop_provenance,
            policing=town.policing,
            policing_provenance=town.policing_provenance,
            police_agency=town.police_agency.code,
            police_agency_name=town.police_agency.name,
            police_agency_provenance=town.police_agency_provenance,
            psap=town.psap.code if town.psap else None,
            psap_name=town.psap.name if town.psap else None,
            psap_provenance=town.psap_provenance,
            town_id=town.pk,
            police_agency_id=town.police_agency_id,
            psap_id=town.psap_id,
        )
        for town in towns
    ]


def _geometry_from_database(digest: str) -> TownGeometry:
    from despp.core.models import Town

    rows = Town.objects.order_by("fips_2020").values_list("fips_2020", "name", "boundary")
    return TownGeometry(
        [TownShape(fips, name, shape(boundary)) for fips, name, boundary in rows], digest
    )


def _refresh() -> JurisdictionIndex:
    global _cached, _geometry
    from despp.core.models import ReferenceState

    state = ReferenceState.objects.filter(key="geography").values_list(
        "revision", "geometry_digest"
    )
    found = state.first()
    if found is None:
        raise ReferenceNotLoadedError(
            "the reference geography is not loaded; run `despp load-reference`"
        )
    revision, digest = found
    cached = _cached
    if cached is None or cached.revision != revision:
        if _geometry is None or _geometry.digest != digest:
            _geometry = _geometry_from_database(digest)
        cached = _Cached(JurisdictionIndex(_geometry, _answers_from_database()), revision, 0.0)
    _cached = _Cached(cached.index, revision, _clock() + RECHECK_SECONDS)
    return cached.index


def get_index() -> JurisdictionIndex:
    cached = _cached
    if cached is not None and _clock() < cached.next_check:
        return cached.index
    with _lock:
        return _refresh()


def warm() -> bool:
    """Build this process's index now, so the first 911 call does not wait seconds for it.

    Returns False (and logs why) when it cannot be built yet: no reference data, no database.
    """
    try:
        get_index().geometry.warm()
    except (ReferenceNotLoadedError, DatabaseError) as exc:
        logger.warning("jurisdiction index not warmed: %s", exc)
        return False
    return True


def locate(lat: float, lon: float) -> Jurisdiction:
    """The jurisdiction of one point (see the module docstring)."""
    # check_coordinates() and get_index() inlined for their common cases (a 911 call's hot path).
    if not (
        type(lat) is float
        and type(lon) is float
        and -90.0 <= lat <= 90.0
        and -180.0 <= lon <= 180.0
    ):
        lat, lon = check_coordinates(lat, lon)
    cached = _cached
    if cached is not None and _clock() < cached.next_check:
        return cached.index.locate_checked(lat, lon)
    return get_index().locate_checked(lat, lon)


def locate_many(lats: ArrayLike, lons: ArrayLike) -> NDArray[np.int32]:
    """Town index per point (-1 outside); get_index().towns[i] describes town i."""
    lat_array, lon_array = check_coordinate_arrays(lats, lons)
    return get_index().locate_many_checked(lat_array, lon_array)
