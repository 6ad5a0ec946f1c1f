"""Estimated travel time of a unit to an incident: the model the recommendation ranks by.

    ETA (minutes) = great-circle distance (km) x ROAD_FACTOR / SPEED_KMH[unit kind] x 60

- Distance is the haversine great-circle distance on a sphere of radius 6371.0088 km (the
  IUGG mean radius) between the unit's position and the incident's (`haversine_km`, the same
  function the reference loader measures with).
- ROAD_FACTOR 1.3 turns a straight line into a road distance: the "detour index" (road
  distance / straight-line distance) measured for US road networks is typically 1.2 to 1.4,
  higher in rural hills, lower on urban grids; 1.3 is the middle of that range.
- SPEED_KMH is an average emergency travel speed per unit kind, door to door (not a top
  speed): patrol cars on mixed state roads faster than heavy apparatus; a marine unit's
  road trailer slowest. The numbers are planning estimates, not measurements of Connecticut
  traffic; they only need to rank units sensibly, and a dispatcher sees the distance beside
  every ETA.
- Position: the unit's AVL fix when it is fresh (reported within AVL_FRESH_S); otherwise its
  home station ("station-based recommendation when AVL is absent"); otherwise a stale fix;
  otherwise the unit cannot be ranked (and is reported so).

No road network, traffic or turnout time is modelled: a real deployment would replace
`travel_minutes` with a routing engine's drive times and keep the rest of the recommendation.
"""

import functools
import math

import numpy as np
from numpy.typing import NDArray

from despp.core.reference.facts import haversine_km
from despp.dispatch.models import UnitKind

EARTH_RADIUS_KM = 6371.0088
ROAD_FACTOR = 1.3
AVL_FRESH_S = 30 * 60

SPEED_KMH: dict[str, float] = {
    UnitKind.TROOP_CAR: 80.0,  # State Police: rural state roads and limited-access highways
    UnitKind.POLICE_CAR: 60.0,  # municipal patrol: town streets
    UnitKind.POLICE_SUPERVISOR: 65.0,
    UnitKind.K9: 70.0,
    UnitKind.MARINE: 45.0,  # a boat on a trailer to the nearest launch
    UnitKind.ENGINE: 50.0,
    UnitKind.LADDER: 45.0,
    UnitKind.RESCUE: 50.0,
    UnitKind.TANKER: 40.0,
    UnitKind.BRUSH: 50.0,
    UnitKind.FIRE_CHIEF: 65.0,
    UnitKind.ALS: 60.0,
    UnitKind.BLS: 55.0,
    UnitKind.EMS_SUPERVISOR: 70.0,
}


great_circle_km = haversine_km  # the platform's one haversine (core/reference/facts.py)


def great_circle_km_many(
    lat_rad: NDArray[np.float64],
    lon_rad: NDArray[np.float64],
    cos_lat: NDArray[np.float64],
    lat: float,
    lon: float,
) -> NDArray[np.float64]:
    """Distances from one point to many, the many given in radians with cos(lat) precomputed
    (the recommendation keeps these arrays per fleet snapshot)."""
    p = math.radians(lat)
    half_dlat = (lat_rad - p) * 0.5
    half_dlon = (lon_rad - math.radians(lon)) * 0.5
    a = np.sin(half_dlat) ** 2 + cos_lat * math.cos(p) * np.sin(half_dlon) ** 2
    result: NDArray[np.float64] = (2 * EARTH_RADIUS_KM) * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    return result


def travel_minutes(distance_km: float, unit_kind: str) -> float:
    return distance_km * ROAD_FACTOR / SPEED_KMH[unit_kind] * 60.0


# Minutes per straight-line km, by kind (the recommendation multiplies arrays by these).
MINUTES_PER_KM: dict[str, float] = {
    kind: ROAD_FACTOR / speed * 60.0 for kind, speed in SPEED_KMH.items()
}


@functools.cache
def describe() -> str:
    """The model in one sentence, shown with every recommendation."""
    return (
        f"ETA = great-circle distance x {ROAD_FACTOR} road factor / average speed by unit kind "
        f"(e.g. troop car {SPEED_KMH[UnitKind.TROOP_CAR]:g} km/h, engine "
        f"{SPEED_KMH[UnitKind.ENGINE]:g} km/h); from the AVL fix when under "
        f"{AVL_FRESH_S // 60} minutes old, else from the home station."
    )
