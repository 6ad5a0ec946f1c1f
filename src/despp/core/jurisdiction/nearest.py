"""Nearest town and its distance for points that no town covers.

Distances are measured in a conformal projection centred on the state (spherical Lambert
conformal conic with the Connecticut State Plane's standard parallels, on a sphere whose radius
is the WGS84 Gaussian mean radius at the centre latitude), so within a few hundred kilometres of
the state a planar distance in it is the true ground distance to within about 0.1 %.

Near the state (its bounding box widened by `margin_deg`) a coarse grid stores, per cell, the
towns whose boundary could be nearest to some point of the cell, each with only the boundary
edges that could be nearest, pre-built as small GEOS geometries: a query costs one point and one
vectorised distance call. Farther away, the nearest boundary vertex by haversine distance is
used (at that range the difference to the nearest edge is metres).

Ties (a point equally far from two towns, e.g. nearest to the point where their border meets the
shore) go to the lowest-ranked town.
"""

import math
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import lib as shapely_lib

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, for haversine
_WGS84_A = 6378.137
_WGS84_E2 = 0.00669437999014
_KEEP_NAN = np.intc(0)  # shapely's handle_nan flag for points(); inputs are already finite


@dataclass(frozen=True)
class LambertConformalConic:
    """Spherical Lambert conformal conic; x, y in kilometres."""

    lat1: float
    lat2: float
    lat0: float
    lon0: float

    def __post_init__(self) -> None:
        phi1, phi2, phi0 = (math.radians(a) for a in (self.lat1, self.lat2, self.lat0))
        n = math.log(math.cos(phi1) / math.cos(phi2)) / math.log(
            math.tan(math.pi / 4 + phi2 / 2) / math.tan(math.pi / 4 + phi1 / 2)
        )
        mid = math.radians((self.lat1 + self.lat2) / 2)
        s2 = math.sin(mid) ** 2
        # Gaussian mean radius sqrt(M N) at the middle latitude of the standard parallels.
        radius = _WGS84_A * math.sqrt(1 - _WGS84_E2) / (1 - _WGS84_E2 * s2)
        big_f = math.cos(phi1) * math.tan(math.pi / 4 + phi1 / 2) ** n / n
        object.__setattr__(self, "_n", n)
        object.__setattr__(self, "_rf", radius * big_f)
        object.__setattr__(self, "_rho0", radius * big_f / math.tan(math.pi / 4 + phi0 / 2) ** n)

    def forward(self, lon: float, lat: float) -> tuple[float, float]:
        n: float = self._n  # type: ignore[attr-defined]
        rho = self._rf / math.tan(math.pi / 4 + math.radians(lat) / 2) ** n  # type: ignore[attr-defined]
        theta = n * math.radians(lon - self.lon0)
        return rho * math.sin(theta), self._rho0 - rho * math.cos(theta)  # type: ignore[attr-defined]

    def forward_many(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        n: float = self._n  # type: ignore[attr-defined]
        rho = self._rf / np.tan(np.pi / 4 + np.radians(lat) / 2) ** n  # type: ignore[attr-defined]
        theta = n * np.radians(lon - self.lon0)
        return rho * np.sin(theta), self._rho0 - rho * np.cos(theta)  # type: ignore[attr-defined]


# NAD83 / Connecticut (EPSG:2234) parameters; used for distances only.
CONNECTICUT_LCC = LambertConformalConic(
    lat1=41.2, lat2=41.866666667, lat0=40.833333333, lon0=-72.75
)


def haversine_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class NearestTown:
    """Nearest town (rank) and distance in km for any finite point."""

    def __init__(
        self,
        geometries: NDArray[np.object_],
        projection: LambertConformalConic = CONNECTICUT_LCC,
        margin_deg: float = 0.6,
        cells_per_degree: int = 64,
    ):
        self.projection = projection
        self._project = projection.forward
        self.cells_per_degree = float(cells_per_degree)
        minx, miny, maxx, maxy = shapely.total_bounds(geometries)
        self.x0 = math.floor((minx - margin_deg) * cells_per_degree) / cells_per_degree
        self.y0 = math.floor((miny - margin_deg) * cells_per_degree) / cells_per_degree
        self.nx = math.ceil((maxx + margin_deg - self.x0) * cells_per_degree)
        self.ny = math.ceil((maxy + margin_deg - self.y0) * cells_per_degree)
        self._build_vertices(geometries)
        self._build_cells(geometries)

    def _build_vertices(self, geometries: NDArray[np.object_]) -> None:
        boundaries = shapely.boundary(geometries)
        coords, town = shapely.get_coordinates(boundaries, return_index=True)
        self._vertex_lon = np.radians(coords[:, 0])
        self._vertex_lat = np.radians(coords[:, 1])
        self._vertex_town = town

    def _build_cells(self, geometries: NDArray[np.object_]) -> None:
        parts, part_town = shapely.get_parts(geometries, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        x, y = self.projection.forward_many(coords[:, 0], coords[:, 1])
        start = np.flatnonzero(ring_of[1:] == ring_of[:-1])
        seg_town = part_town[ring_part[ring_of[start]]]
        seg_xy = np.stack(
            [np.stack([x[start], y[start]], 1), np.stack([x[start + 1], y[start + 1]], 1)], 1
        )
        segments = shapely.linestrings(seg_xy)
        tree = shapely.STRtree(segments)

        # Each cell's projected corners; a projected cell is a slightly curved quadrilateral,
        # so its box is widened by a metre to contain it whole.
        iy, ix = np.divmod(np.arange(self.nx * self.ny), self.nx)
        lon_lo = self.x0 + ix / self.cells_per_degree
        lat_lo = self.y0 + iy / self.cells_per_degree
        step = 1 / self.cells_per_degree
        corners_x, corners_y = [], []
        for dlon, dlat in ((0, 0), (step, 0), (0, step), (step, step)):
            cx, cy = self.projection.forward_many(lon_lo + dlon, lat_lo + dlat)
            corners_x.append(cx)
            corners_y.append(cy)
        bx0, bx1 = np.min(corners_x, 0) - 0.001, np.max(corners_x, 0) + 0.001
        by0, by1 = np.min(corners_y, 0) - 0.001, np.max(corners_y, 0) + 0.001
        centres = shapely.points((bx0 + bx1) / 2, (by0 + by1) / 2)
        half_diagonal = np.hypot(bx1 - bx0, by1 - by0) / 2
        _, nearest_distance = tree.query_nearest(centres, return_distance=True, all_matches=False)
        # Any point of the cell is within (centre distance + half diagonal) of some edge, so an
        # edge farther than that from the whole cell can never be the nearest.
        bound = nearest_distance + half_diagonal
        boxes = shapely.box(bx0, by0, bx1, by1)
        cell, seg = tree.query(boxes, predicate="dwithin", distance=bound)
        key = cell.astype(np.int64) * geometries.size + seg_town[seg]
        order = np.argsort(key, kind="stable")
        key, seg = key[order], seg[order]
        group_key, group_start = np.unique(key, return_index=True)
        group_of = np.repeat(np.arange(group_key.size), np.diff(np.r_[group_start, key.size]))
        pieces = shapely.multilinestrings(segments[seg], indices=group_of)
        group_cell = group_key // geometries.size
        self._cell_start = np.searchsorted(group_cell, np.arange(self.nx * self.ny + 1)).tolist()
        self._group_town = (group_key % geometries.size).tolist()
        self._group_geometry = pieces

    def nearest(self, lon: float, lat: float) -> tuple[int, float]:
        u = (lon - self.x0) * self.cells_per_degree
        v = (lat - self.y0) * self.cells_per_degree
        if not (0.0 <= u < self.nx and 0.0 <= v < self.ny):
            return self._nearest_far(lon, lat)
        cell = int(v) * self.nx + int(u)
        start, end = self._cell_start[cell], self._cell_start[cell + 1]
        point = shapely_lib.points(self._project(lon, lat), _KEEP_NAN)
        if end - start == 1:
            return self._group_town[start], float(
                shapely_lib.distance(point, self._group_geometry[start])
            )
        distances = shapely_lib.distance(point, self._group_geometry[start:end])
        best = int(distances.argmin())  # first minimum: groups are in town-rank order
        return self._group_town[start + best], float(distances[best])

    def _nearest_far(self, lon: float, lat: float) -> tuple[int, float]:
        p_lon, p_lat = math.radians(lon), math.radians(lat)
        a = (
            np.sin((self._vertex_lat - p_lat) / 2) ** 2
            + math.cos(p_lat)
            * np.cos(self._vertex_lat)
            * np.sin((self._vertex_lon - p_lon) / 2) ** 2
        )
        best = int(np.argmin(a))
        distance = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(float(a[best]))))
        return int(self._vertex_town[best]), distance
