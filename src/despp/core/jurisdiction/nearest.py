"""Nearest town and its distance for points that no town covers.

Distances are measured in a conformal projection centred on the state (spherical Lambert
conformal conic with the Connecticut State Plane's standard parallels, on a sphere whose radius
is the WGS84 Gaussian mean radius at the centre latitude), so within a few hundred kilometres of
the state a planar distance in it is the true ground distance to within about 0.1 %.

Near the state (its bounding box widened by `margin_deg`, 0.45 degree: about 40-50 km, enough
for New York City, Long Island and Providence) a coarse grid stores, per cell, the towns whose
boundary could be nearest to some point of the cell, each with only the boundary edges that
could be nearest (pruned by a bound proved in `_lattice_filter`), merged into a few GEOS lines:
a query costs one point and one vectorised distance call, and gives the same answer as a search
over every edge. Farther away, the nearest boundary vertex by haversine distance is used (at
that range the difference to the nearest edge is metres).

Ties (a point equally far from two towns, e.g. nearest to the point where their border meets the
shore) go to the lowest-ranked town.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import lib as shapely_lib

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, for haversine
_WGS84_A = 6378.137
_WGS84_E2 = 0.00669437999014
_KEEP_NAN = np.intc(0)  # shapely's handle_nan flag for points(); inputs are already finite
_LATTICE = 4  # sub-boxes per cell side when pruning candidate edges
_TOLERANCE_KM = 1e-6  # rounding slack in the pruning bound (a millimetre)


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
        margin_deg: float = 0.45,
        cells_per_degree: int = 64,
        inside: Callable[[float, float, float, int, int], NDArray[np.bool_]] | None = None,
    ):
        """`inside(x0, y0, cells_per_degree, nx, ny)`, when given, flags the cells that lie
        wholly inside some town; no out-of-state point can fall there, so they are skipped."""
        self.projection = projection
        self._project = projection.forward
        self.cells_per_degree = float(cells_per_degree)
        minx, miny, maxx, maxy = shapely.total_bounds(geometries)
        self.x0 = math.floor((minx - margin_deg) * cells_per_degree) / cells_per_degree
        self.y0 = math.floor((miny - margin_deg) * cells_per_degree) / cells_per_degree
        self.nx = math.ceil((maxx + margin_deg - self.x0) * cells_per_degree)
        self.ny = math.ceil((maxy + margin_deg - self.y0) * cells_per_degree)
        self._build_vertices(geometries)
        skip = (
            inside(self.x0, self.y0, self.cells_per_degree, self.nx, self.ny)
            if inside is not None
            else np.zeros(self.nx * self.ny, dtype=bool)
        )
        self._build_cells(geometries, np.flatnonzero(~skip))

    def _build_vertices(self, geometries: NDArray[np.object_]) -> None:
        boundaries = shapely.boundary(geometries)
        coords, town = shapely.get_coordinates(boundaries, return_index=True)
        self._vertex_lon = np.radians(coords[:, 0])
        self._vertex_lat = np.radians(coords[:, 1])
        self._vertex_town = town

    def _cell_boxes(self, cells: NDArray[np.intp]) -> tuple[NDArray[np.float64], ...]:
        """Projected bounding box of each cell. A projected cell is a slightly curved
        quadrilateral, so the box of its corners is widened by a metre to contain it whole."""
        iy, ix = np.divmod(cells, self.nx)
        lon_lo = self.x0 + ix / self.cells_per_degree
        lat_lo = self.y0 + iy / self.cells_per_degree
        step = 1 / self.cells_per_degree
        corners_x, corners_y = [], []
        for dlon, dlat in ((0, 0), (step, 0), (0, step), (step, step)):
            cx, cy = self.projection.forward_many(lon_lo + dlon, lat_lo + dlat)
            corners_x.append(cx)
            corners_y.append(cy)
        return (
            np.min(corners_x, 0) - 0.001,
            np.min(corners_y, 0) - 0.001,
            np.max(corners_x, 0) + 0.001,
            np.max(corners_y, 0) + 0.001,
        )

    def _build_cells(self, geometries: NDArray[np.object_], cells: NDArray[np.intp]) -> None:
        parts, part_town = shapely.get_parts(geometries, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        x, y = self.projection.forward_many(coords[:, 0], coords[:, 1])
        start = np.flatnonzero(ring_of[1:] == ring_of[:-1])
        seg_town = part_town[ring_part[ring_of[start]]]
        ends = (x[start], y[start], x[start + 1], y[start + 1])
        segments = shapely.linestrings(np.stack([np.stack(ends[:2], 1), np.stack(ends[2:], 1)], 1))
        self._segments, self._segment_town = segments, seg_town
        self._tree = tree = shapely.STRtree(segments)

        bx0, by0, bx1, by1 = self._cell_boxes(cells)
        centres = shapely.points((bx0 + bx1) / 2, (by0 + by1) / 2)
        half_diagonal = np.hypot(bx1 - bx0, by1 - by0) / 2
        _, nearest_distance = tree.query_nearest(centres, return_distance=True, all_matches=False)
        # Any point of the cell is within (centre distance + half diagonal) of some edge, so an
        # edge farther than that from the whole cell can never be the nearest.
        pair_cell, seg = tree.query(
            shapely.box(bx0, by0, bx1, by1),
            predicate="dwithin",
            distance=nearest_distance + half_diagonal,
        )
        order = np.argsort(pair_cell, kind="stable")
        pair_cell, seg = pair_cell[order], seg[order]
        keep = _lattice_filter(pair_cell, seg, (bx0, by0, bx1, by1), ends)
        pair_cell, seg = pair_cell[keep], seg[keep]

        key = cells[pair_cell].astype(np.int64) * geometries.size + seg_town[seg]
        order = np.argsort(key, kind="stable")
        key, seg = key[order], seg[order]
        group_key, group_start = np.unique(key, return_index=True)
        group_of = np.repeat(np.arange(group_key.size), np.diff(np.r_[group_start, key.size]))
        # Contiguous edges merged into long lines: GEOS pays per component, not per vertex.
        pieces = shapely.line_merge(shapely.multilinestrings(segments[seg], indices=group_of))
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
        if start == end:  # a cell wholly inside a town: only reached when asked directly
            return self._nearest_by_tree(point)
        distances = shapely_lib.distance(point, self._group_geometry[start:end])
        best = int(distances.argmin())  # first minimum: groups are in town-rank order
        return self._group_town[start + best], float(distances[best])

    def _nearest_by_tree(self, point: shapely.Geometry) -> tuple[int, float]:
        found, distance = self._tree.query_nearest(point, return_distance=True, all_matches=True)
        return int(self._segment_town[found].min()), float(distance.min())

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


def _segment_distance(
    px: NDArray[np.float64], py: NDArray[np.float64], ends: tuple[NDArray[np.float64], ...]
) -> NDArray[np.float64]:
    ax, ay, bx, by = ends
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = ((px - ax) * dx + (py - ay) * dy) / np.where(length2 > 0, length2, 1.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _lattice_filter(
    pair_cell: NDArray[np.intp],
    seg: NDArray[np.intp],
    boxes: tuple[NDArray[np.float64], ...],
    ends: tuple[NDArray[np.float64], ...],
    lattice: int = _LATTICE,
) -> NDArray[np.bool_]:
    """Keep only the edges that can be nearest for some point of their cell.

    Split the cell's box into lattice x lattice sub-boxes with centres q and half-diagonal r.
    A point p of the box is within r of some q, so if edge s is nearest to p then
    dist(q, s) <= d(p) + r <= d(q) + 2r, where d(q) is q's distance to its nearest edge (which
    is among the cell's candidates). Edges failing that for every q are dropped. `pair_cell`
    must be sorted.
    """
    bx0, by0, bx1, by1 = (b[pair_cell] for b in boxes)
    radius = np.hypot(bx1 - bx0, by1 - by0) / (2 * lattice)
    seg_ends = tuple(e[seg] for e in ends)
    first = np.flatnonzero(np.r_[True, pair_cell[1:] != pair_cell[:-1]])
    size = np.diff(np.r_[first, pair_cell.size])
    keep = np.zeros(seg.size, dtype=bool)
    for i in range(lattice):
        for j in range(lattice):
            qx = bx0 + (i + 0.5) / lattice * (bx1 - bx0)
            qy = by0 + (j + 0.5) / lattice * (by1 - by0)
            distance = _segment_distance(qx, qy, seg_ends)
            nearest = np.repeat(np.minimum.reduceat(distance, first), size)
            keep |= distance <= nearest + 2 * radius + _TOLERANCE_KM
    return keep
