"""Nearest town and its distance for points that no town covers.

Distances are measured in a conformal projection centred on the state (spherical Lambert
conformal conic with the Connecticut State Plane's standard parallels, on a sphere whose radius
is the WGS84 Gaussian mean radius at the centre latitude), so within a few hundred kilometres of
the state a planar distance in it is the true ground distance to within about 0.1 %.

Near the state (its bounding box widened by `margin_deg`, 0.45 degree: about 40-50 km, enough
for New York City, Long Island and Providence) a coarse grid stores, per cell, only the boundary
edges that could be nearest to some point of the cell (pruned by a bound proved in
`_lattice_filter`); a cell left with more than _LEAF_LIMIT of them is split into 4 x 4 sub-cells,
each pruned again from its parent's list. A query projects the point and measures it against
its cell's few edges in plain float arithmetic (a GEOS call costs more than the whole loop),
which gives the same answer as a search over every edge. Farther away, the nearest boundary
vertex by haversine distance is used (at that range the difference to the nearest edge is
metres).

Ties (a point equally far from two towns, e.g. nearest to the point where their border meets the
shore) go to the lowest-ranked town.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, for haversine
_WGS84_A = 6378.137
_WGS84_E2 = 0.00669437999014
_LATTICE = 4  # sub-boxes per cell side when pruning candidate edges
_TOLERANCE_KM = 1e-6  # rounding slack in the pruning bound (a millimetre)
_LEAF_LIMIT = 12  # a cell with more candidate edges than this is split into sub-cells
_SPLIT = 4  # sub-cells per side of a split cell
_MAX_SPLITS = 1  # cells of 1/64 degree (about 1.5 km); split ones of 1/256 (about 400 m)

# A projected edge for the query loop: ax, ay, bx, by, dx, dy, 1 / length², town rank.
_Segment = tuple[float, float, float, float, float, float, float, int]


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
        self._inside = inside
        self._build_vertices(geometries)
        self._build_segments(geometries)
        self._build_cells()

    def _build_vertices(self, geometries: NDArray[np.object_]) -> None:
        boundaries = shapely.boundary(geometries)
        coords, town = shapely.get_coordinates(boundaries, return_index=True)
        lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
        # Unit vectors: the nearest vertex by great-circle distance has the largest dot product
        # with the point's unit vector, one matrix-vector product instead of four trig arrays.
        self._vertex_unit = np.ascontiguousarray(
            np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], 1)
        )
        self._vertex_degrees = coords.tolist()
        self._vertex_town = town

    def _build_segments(self, geometries: NDArray[np.object_]) -> None:
        """Every ring edge, projected: as GEOS lines (for the build) and as plain tuples
        (ax, ay, bx, by, dx, dy, 1 / length², town) for the query loop."""
        parts, part_town = shapely.get_parts(geometries, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        x, y = self.projection.forward_many(coords[:, 0], coords[:, 1])
        start = np.flatnonzero(ring_of[1:] == ring_of[:-1])
        town = part_town[ring_part[ring_of[start]]]
        ax, ay, bx, by = x[start], y[start], x[start + 1], y[start + 1]
        self._ends = (ax, ay, bx, by)
        self._segments = shapely.linestrings(
            np.stack([np.stack([ax, ay], 1), np.stack([bx, by], 1)], 1)
        )
        self._segment_town = town
        self._tree = shapely.STRtree(self._segments)
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        inverse = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0)
        self._rows: list[_Segment] = list(
            zip(*(a.tolist() for a in (ax, ay, bx, by, dx, dy, inverse, town)), strict=True)
        )

    def _cell_boxes(
        self, cells: NDArray[np.intp], cells_per_degree: float, nx: int
    ) -> tuple[NDArray[np.float64], ...]:
        """Projected bounding box of each cell. A projected cell is a slightly curved
        quadrilateral, so the box of its corners is widened by a metre to contain it whole."""
        iy, ix = np.divmod(cells, nx)
        lon_lo = self.x0 + ix / cells_per_degree
        lat_lo = self.y0 + iy / cells_per_degree
        step = 1 / cells_per_degree
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

    def _top_candidates(
        self, cells: NDArray[np.intp], boxes: tuple[NDArray[np.float64], ...]
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(cell position, edge) for every edge that could be nearest to some point of the cell,
        found through the tree; a superset that _lattice_filter then prunes."""
        bx0, by0, bx1, by1 = boxes
        centres = shapely.points((bx0 + bx1) / 2, (by0 + by1) / 2)
        half_diagonal = np.hypot(bx1 - bx0, by1 - by0) / 2
        _, nearest_distance = self._tree.query_nearest(
            centres, return_distance=True, all_matches=False
        )
        # Any point of the cell is within (centre distance + half diagonal) of some edge, so an
        # edge farther than that from the whole cell can never be the nearest.
        pair_cell, seg = self._tree.query(
            shapely.box(*boxes), predicate="dwithin", distance=nearest_distance + half_diagonal
        )
        order = np.argsort(pair_cell, kind="stable")
        return pair_cell[order], seg[order]

    def _build_cells(self) -> None:
        """A tree of cells: the top grid, and each cell with more than _LEAF_LIMIT candidate
        edges split into _SPLIT x _SPLIT sub-cells (at most _MAX_SPLITS times), so that every
        leaf holds a short list. Node k < nx * ny is top cell k; _first_child[k] is the node of
        k's first sub-cell (sub-cells row by row), 0 for a leaf."""
        cpd, nx, ny = self.cells_per_degree, self.nx, self.ny
        cells = np.arange(nx * ny)
        nodes = np.arange(nx * ny)
        self._first_child: list[int] = [0] * (nx * ny)
        self._leaf_rows: list[tuple[_Segment, ...]] = [()] * (nx * ny)
        live = self._live(cells, cpd, nx, ny)
        cells, nodes = cells[live], nodes[live]
        boxes = self._cell_boxes(cells, cpd, nx)
        pair_cell, seg = self._top_candidates(cells, boxes)
        for depth in range(_MAX_SPLITS + 1):
            # Any candidate set holding every edge nearest to some point of the cell will do
            # for the filter: the tree's superset at the top, the parent's list below it.
            keep = _lattice_filter(pair_cell, seg, boxes, self._ends)
            pair_cell, seg = pair_cell[keep], seg[keep]
            count = np.bincount(pair_cell, minlength=cells.size)
            split = count > _LEAF_LIMIT if depth < _MAX_SPLITS else np.zeros(cells.size, bool)
            leaf = ~split[pair_cell]
            self._store_leaves(nodes, pair_cell[leaf], seg[leaf])
            if not split.any():
                break
            # Sub-cells of each split cell, on the grid _SPLIT times finer.
            cpd, nx, ny = cpd * _SPLIT, nx * _SPLIT, ny * _SPLIT
            parent = np.flatnonzero(split)
            iy, ix = np.divmod(cells[parent], nx // _SPLIT)
            sub = np.arange(_SPLIT)
            child_cells = (
                (iy[:, None, None] * _SPLIT + sub[None, :, None]) * nx
                + ix[:, None, None] * _SPLIT
                + sub[None, None, :]
            ).reshape(-1)
            first = len(self._first_child)
            child_nodes = first + np.arange(child_cells.size)
            for n, node in enumerate(nodes[parent].tolist()):
                self._first_child[node] = first + n * _SPLIT * _SPLIT
            self._first_child += [0] * child_cells.size
            self._leaf_rows += [()] * child_cells.size
            # Each sub-cell starts from its parent's candidates.
            parent_of = np.full(cells.size, -1)
            parent_of[parent] = np.arange(parent.size)
            mine = split[pair_cell]
            p_pair, p_seg = parent_of[pair_cell[mine]], seg[mine]
            per = _SPLIT * _SPLIT
            pair_cell = (p_pair[:, None] * per + np.arange(per)[None, :]).reshape(-1)
            seg = np.repeat(p_seg, per)
            live = self._live(child_cells, cpd, nx, ny)
            position = np.cumsum(live) - 1
            keep = live[pair_cell]
            pair_cell, seg = position[pair_cell[keep]], seg[keep]
            order = np.argsort(pair_cell, kind="stable")
            pair_cell, seg = pair_cell[order], seg[order]
            cells, nodes = child_cells[live], child_nodes[live]
            boxes = self._cell_boxes(cells, cpd, nx)

    def _live(self, cells: NDArray[np.intp], cpd: float, nx: int, ny: int) -> NDArray[np.bool_]:
        """Cells that an out-of-state point can fall in (not wholly inside some town)."""
        if self._inside is None:
            return np.ones(cells.size, dtype=bool)
        return ~self._inside(self.x0, self.y0, cpd, nx, ny)[cells]

    def _store_leaves(
        self, nodes: NDArray[np.intp], pair_cell: NDArray[np.intp], seg: NDArray[np.intp]
    ) -> None:
        """Each leaf's candidate edges as a tuple of row tuples (equal tuples shared)."""
        edges = seg.tolist()
        starts = np.flatnonzero(np.r_[True, pair_cell[1:] != pair_cell[:-1]])[: seg.size]
        leaf_nodes = nodes[pair_cell[starts]].tolist()
        cuts = [*starts.tolist(), seg.size]
        shared: dict[tuple[int, ...], tuple[_Segment, ...]] = {}
        rows = self._rows
        for k, node in enumerate(leaf_nodes):
            key = tuple(edges[cuts[k] : cuts[k + 1]])
            found = shared.get(key)
            if found is None:
                found = shared[key] = tuple(rows[e] for e in key)
            self._leaf_rows[node] = found

    def nearest(self, lon: float, lat: float) -> tuple[int, float]:
        u = (lon - self.x0) * self.cells_per_degree
        v = (lat - self.y0) * self.cells_per_degree
        if not (0.0 <= u < self.nx and 0.0 <= v < self.ny):
            return self._nearest_far(lon, lat)
        ix, iy = int(u), int(v)
        node = iy * self.nx + ix
        first = self._first_child[node]
        while first:  # down to the sub-cell holding the point (cell boxes overlap by a metre,
            # so rounding at a sub-cell's edge cannot pick one that misses the point)
            u, v = (u - ix) * _SPLIT, (v - iy) * _SPLIT
            ix, iy = min(int(u), _SPLIT - 1), min(int(v), _SPLIT - 1)
            node = first + iy * _SPLIT + ix
            first = self._first_child[node]
        rows = self._leaf_rows[node]
        if not rows:  # a cell wholly inside a town: only reached when asked directly
            return self._nearest_by_tree(lon, lat)
        x, y = self._project(lon, lat)
        best, best_town = math.inf, -1
        # Plain float arithmetic over a handful of edges beats a GEOS call (about 1 µs each).
        for ax, ay, bx, by, dx, dy, inverse, town in rows:
            t = ((x - ax) * dx + (y - ay) * dy) * inverse
            if t <= 0.0:
                ex, ey = x - ax, y - ay
            elif t >= 1.0:
                ex, ey = x - bx, y - by
            else:
                ex, ey = x - ax - t * dx, y - ay - t * dy
            squared = ex * ex + ey * ey
            # Ties (e.g. the vertex two towns share on the shore) go to the lower rank.
            if squared < best or (squared == best and town < best_town):
                best, best_town = squared, town
        return best_town, math.sqrt(best)

    def _nearest_by_tree(self, lon: float, lat: float) -> tuple[int, float]:
        point = shapely.points(self._project(lon, lat))
        found, distance = self._tree.query_nearest(point, return_distance=True, all_matches=True)
        return int(self._segment_town[found].min()), float(distance.min())

    def _nearest_far(self, lon: float, lat: float) -> tuple[int, float]:
        p_lon, p_lat = math.radians(lon), math.radians(lat)
        unit = np.array(
            [math.cos(p_lat) * math.cos(p_lon), math.cos(p_lat) * math.sin(p_lon), math.sin(p_lat)]
        )
        best = int(np.argmax(self._vertex_unit @ unit))  # the first maximum: the lowest rank
        vertex_lon, vertex_lat = self._vertex_degrees[best]
        return int(self._vertex_town[best]), haversine_km(lon, lat, vertex_lon, vertex_lat)


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
