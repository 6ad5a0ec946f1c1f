"""Nearest town and its distance for points that no town covers.

Distances are measured in a conformal projection centred on the state (spherical Lambert
conformal conic with the Connecticut State Plane's standard parallels, on a sphere whose radius
is the WGS84 Gaussian mean radius at the centre latitude), so within a few hundred kilometres of
the state a planar distance in it is the true ground distance to within about 0.1 %.

For a point that no town covers, the nearest point of any town lies on the state's outline: an
edge that only one town's rings hold (the shore, the state line, the rim of a gap). A border
shared by two towns has towns on both sides, so reaching it means crossing the outline first.
Only the outline edges (about a tenth of all edges) are candidates.

Near the state (its bounding box widened by `margin_deg`, 0.45 degree: about 40-50 km, enough
for New York City, Long Island and Providence) a grid stores, per cell, only the outline
features that could be nearest to some point of the cell: vertices, and edge interiors (which
count only where the point projects inside the edge), so a point whose nearest outline point is
a vertex measures one feature, not the two edges that meet there. They are pruned by a bound
proved in `_lattice_filter`; a cell left with more than _LEAF_LIMITS[depth] of them is split
into _SPLIT x _SPLIT sub-cells, each pruned again from its parent's list. A query projects the
point and measures it against its leaf's one to three features (typically) in plain float
arithmetic, which gives the same answer as a search over every edge. The cells are int64 codes
and the leaves one packed buffer read with struct, so a lookup touches a few cache lines rather
than a dozen scattered Python objects. Farther away, the nearest boundary vertex by haversine
distance is used (at that range the difference to the nearest edge is metres).

Ties (a point equally far from two towns, e.g. nearest to the point where their border meets the
shore) go to the lowest-ranked town.
"""

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from despp.core.jurisdiction.cells import unique_sorted

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius, for haversine
_WGS84_A = 6378.137
_WGS84_E2 = 0.00669437999014
_LATTICES = (1, 2, 4)  # sub-boxes per cell side in the successive pruning passes
_TOLERANCE_KM = 1e-6  # rounding slack in the pruning bound (a millimetre)
# A cell at depth k with more candidate features than _LEAF_LIMITS[k] is split into sub-cells:
# cells of 1/64 degree (about 1.5 km), split to 1/256 and then 1/1024 (100 m).
_LEAF_LIMITS = (2, 5)
_SPLIT = 4  # sub-cells per side of a split cell

# A leaf's features, packed, vertices first: vx, vy, town; then the edge interiors: ax, ay, dx,
# dy, 1 / length², town.
_VERTEX = struct.Struct("<ddq")
_INTERIOR = struct.Struct("<dddddq")
# A cell's code: a leaf is (byte offset << 16) | (vertex count << 8) | interior count (0: no
# candidates, a cell wholly inside a town); a split cell is -1 - its block of _SPLIT² codes.
_VERTEX_SIZE = _VERTEX.size
_INTERIOR_SIZE = _INTERIOR.size
_unpack_vertex = _VERTEX.unpack_from
_unpack_interior = _INTERIOR.unpack_from
_MAX_FEATURES = 255  # of each kind per leaf; a larger leaf (never seen) asks the tree instead


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

    def forward_function(self) -> Callable[[float, float], tuple[float, float]]:
        """forward() as a closure over the constants (a third cheaper per call, same result)."""
        n: float = self._n  # type: ignore[attr-defined]
        rf: float = self._rf  # type: ignore[attr-defined]
        rho0: float = self._rho0  # type: ignore[attr-defined]
        lon0, tan, sin, cos, radians, quarter = (
            self.lon0,
            math.tan,
            math.sin,
            math.cos,
            math.radians,
            math.pi / 4,
        )

        def forward(lon: float, lat: float) -> tuple[float, float]:
            rho = rf / tan(quarter + radians(lat) / 2) ** n
            theta = n * radians(lon - lon0)
            return rho * sin(theta), rho0 - rho * cos(theta)

        return forward

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
    """Nearest town (rank) and distance in km for a point that no town covers (any finite
    point away from the state; asked about a point inside a town, cells wholly inside one
    measure to the nearest border of any kind, cells crossed by the outline to the outline)."""

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
        self._project = projection.forward_function()
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
        """Every ring edge, projected, as GEOS lines in a tree (for cells wholly inside a town);
        and the outline edges (held by one town's rings only) as arrays for the build."""
        parts, part_town = shapely.get_parts(geometries, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        x, y = self.projection.forward_many(coords[:, 0], coords[:, 1])
        start = np.flatnonzero(ring_of[1:] == ring_of[:-1])
        town = part_town[ring_part[ring_of[start]]]
        ax, ay, bx, by = x[start], y[start], x[start + 1], y[start + 1]
        self._segments = shapely.linestrings(
            np.stack([np.stack([ax, ay], 1), np.stack([bx, by], 1)], 1)
        )
        self._segment_town = town
        self._tree = shapely.STRtree(self._segments)
        # An edge is on the outline when no other ring holds the same two end points (compared
        # in degrees, exactly as the data has them).
        a, b = coords[start], coords[start + 1]
        swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        key = np.concatenate([np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)], 1)
        _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        single = counts[inverse.reshape(-1)] == 1
        outline = np.flatnonzero(single & ((ax != bx) | (ay != by)))  # zero-length: a vertex
        self._outline_tree = shapely.STRtree(self._segments[outline])
        self._build_features(
            (ax[outline], ay[outline], bx[outline], by[outline]),
            np.concatenate([a[outline], b[outline]]),
            town[outline],
        )

    def _build_features(
        self,
        ends: tuple[NDArray[np.float64], ...],
        degrees: NDArray[np.float64],
        town: NDArray[np.intp],
    ) -> None:
        """The outline's features: each distinct vertex (with the lowest rank of the towns
        whose outline edges meet there) and each edge's interior. Features are numbered
        vertices first; both kinds are stored as segments (a vertex as a zero-length one) for
        the build. `degrees`: the edges' start points then their end points, in degrees."""
        ax, ay, bx, by = ends
        n_edges = ax.size
        (
            _,
            vertex_of,
        ) = np.unique(degrees, axis=0, return_inverse=True)
        vertex_of = vertex_of.reshape(-1)
        n_vertices = int(vertex_of.max()) + 1
        vertex_x = np.zeros(n_vertices)
        vertex_y = np.zeros(n_vertices)
        vertex_x[vertex_of] = np.r_[ax, bx]
        vertex_y[vertex_of] = np.r_[ay, by]
        vertex_town = np.full(n_vertices, np.iinfo(np.intp).max)
        np.minimum.at(vertex_town, vertex_of, np.r_[town, town])
        self._feature_ends = (
            np.r_[vertex_x, ax],
            np.r_[vertex_y, ay],
            np.r_[vertex_x, bx],
            np.r_[vertex_y, by],
        )
        self._feature_town = np.r_[vertex_town, town]
        self._n_vertices = n_vertices
        # Per outline edge: its interior and its two end points, as feature numbers.
        interior = n_vertices + np.arange(n_edges)
        self._edge_features = np.stack([interior, vertex_of[:n_edges], vertex_of[n_edges:]], axis=1)

    def _feature_records(self) -> list[bytes]:
        """Each feature's row for the query loop, packed: a vertex's (_VERTEX), an edge
        interior's (_INTERIOR)."""
        ax, ay, bx, by = self._feature_ends
        dx, dy = bx - ax, by - ay
        with np.errstate(divide="ignore"):
            inverse = 1.0 / (dx * dx + dy * dy)  # inf for vertices, never read
        rows = zip(
            *(a.tolist() for a in (ax, ay, dx, dy, inverse, self._feature_town)), strict=True
        )
        return [
            _VERTEX.pack(x, y, town)
            if f < self._n_vertices
            else _INTERIOR.pack(x, y, u, v, w, town)
            for f, (x, y, u, v, w, town) in enumerate(rows)
        ]

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
        """(cell position, outline edge) for every outline edge that could be nearest to some
        point of the cell, found through the tree; a superset that _lattice_filter prunes."""
        bx0, by0, bx1, by1 = boxes
        centres = shapely.points((bx0 + bx1) / 2, (by0 + by1) / 2)
        half_diagonal = np.hypot(bx1 - bx0, by1 - by0) / 2
        _, nearest_distance = self._outline_tree.query_nearest(
            centres, return_distance=True, all_matches=False
        )
        # Any point of the cell is within (centre distance + half diagonal) of some edge, so an
        # edge farther than that from the whole cell can never be the nearest.
        pair_cell, seg = self._outline_tree.query(
            shapely.box(*boxes), predicate="dwithin", distance=nearest_distance + half_diagonal
        )
        order = np.argsort(pair_cell, kind="stable")
        return pair_cell[order], seg[order]

    def _build_cells(self) -> None:
        """A tree of cells: the top grid, and each cell with more than _LEAF_LIMITS[depth]
        candidate features split into _SPLIT x _SPLIT sub-cells, so that most leaves hold one
        or two. Codes: see _MAX_FEATURES.

        The build starts one level above the top grid, on cells of _SPLIT x _SPLIT top cells:
        asking the tree for every top cell's candidates would cost more than pruning these."""
        per = _SPLIT * _SPLIT
        top = np.zeros(self.nx * self.ny, dtype=np.int64)
        blocks: list[NDArray[np.int64]] = []  # each level's sub-cell codes, _SPLIT² per block
        n_blocks = 0
        leaves: dict[tuple[int, ...], int] = {}  # a feature list -> its leaf code
        records = self._feature_records()
        buffer: list[bytes] = []
        n_bytes = 0
        # Cells are numbered on each level's grid (nx by ny, from the top grid's origin; the
        # coarse level's rounds the top grid's size up to whole coarse cells).
        cpd = self.cells_per_degree / _SPLIT
        nx, ny = -(-self.nx // _SPLIT), -(-self.ny // _SPLIT)
        cells = np.flatnonzero(self._live(np.arange(nx * ny), cpd, nx, ny))
        boxes = self._cell_boxes(cells, cpd, nx)
        pair_cell, edge = self._top_candidates(cells, boxes)
        # Each candidate edge stands for its interior and its two end points.
        key = unique_sorted(
            np.repeat(pair_cell, 3).astype(np.int64) * self._feature_town.size
            + self._edge_features[edge].reshape(-1)
        )
        pair_cell, feature = key // self._feature_town.size, key % self._feature_town.size
        written: list[tuple[NDArray[np.int64], NDArray[np.intp], NDArray[np.int64]]] = []
        target, where = top, cells  # (the coarse level writes nowhere)
        for depth in range(-1, len(_LEAF_LIMITS) + 1):
            # Any candidate set holding every feature nearest to some point of the cell will do
            # for the filter: the tree's superset at first, the parent's list below it. Coarse
            # lattices first: each pass is a valid filter on its own, and the cheap ones leave
            # the fine ones far fewer pairs.
            for lattice in _LATTICES:
                keep = _lattice_filter(
                    pair_cell, feature, boxes, self._feature_ends, self._n_vertices, lattice
                )
                pair_cell, feature = pair_cell[keep], feature[keep]
            count = np.bincount(pair_cell, minlength=cells.size)
            if depth < 0:
                split = np.ones(cells.size, dtype=bool)
            elif depth < len(_LEAF_LIMITS):
                split = count > _LEAF_LIMITS[depth]
            else:
                split = np.zeros(cells.size, dtype=bool)
            codes = np.zeros(cells.size, dtype=np.int64)
            # Leaves: each distinct feature list is stored once (sorted: vertices first).
            starts = np.r_[0, np.cumsum(count)]
            features = feature.tolist()
            for k in np.flatnonzero(~split & (count > 0)).tolist():
                found = features[starts[k] : starts[k + 1]]
                listed = tuple(found)
                code = leaves.get(listed)
                if code is None:
                    n_vertex = sum(f < self._n_vertices for f in found)
                    n_interior = len(found) - n_vertex
                    code = 0  # a leaf too large for its code asks the tree
                    if max(n_vertex, n_interior) <= _MAX_FEATURES:
                        code = (n_bytes << 16) | (n_vertex << 8) | n_interior
                        buffer.extend(records[f] for f in found)  # vertices come first
                        n_bytes += n_vertex * _VERTEX_SIZE + n_interior * _INTERIOR_SIZE
                    leaves[listed] = code
                codes[k] = code
            parent = np.flatnonzero(split)
            if depth >= 0:
                codes[parent] = -1 - (n_blocks + np.arange(parent.size))
                n_blocks += parent.size
                written.append((target, where, codes))
            if not parent.size:
                break
            # Sub-cells of each split cell, on the grid _SPLIT times finer, row by row.
            cpd, nx, ny = cpd * _SPLIT, nx * _SPLIT, ny * _SPLIT
            iy, ix = np.divmod(cells[parent], nx // _SPLIT)
            sub = np.arange(_SPLIT)
            child_rows = (iy[:, None, None] * _SPLIT + sub[None, :, None]).repeat(_SPLIT, 2)
            child_cols = (ix[:, None, None] * _SPLIT + sub[None, None, :]).repeat(_SPLIT, 1)
            child_rows, child_cols = child_rows.reshape(-1), child_cols.reshape(-1)
            child_cells = child_rows * nx + child_cols
            live = self._live(child_cells, cpd, nx, ny)
            if depth < 0:  # the sub-cells are the top grid's cells
                live &= (child_cols < self.nx) & (child_rows < self.ny)
                target = top
                slots = child_rows * self.nx + child_cols
            else:
                target = np.zeros(child_cells.size, dtype=np.int64)
                blocks.append(target)
                slots = np.arange(child_cells.size)
            # Each sub-cell starts from its parent's candidates.
            parent_of = np.full(cells.size, -1)
            parent_of[parent] = np.arange(parent.size)
            mine = split[pair_cell]
            p_pair, p_feature = parent_of[pair_cell[mine]], feature[mine]
            pair_cell = (p_pair[:, None] * per + np.arange(per)[None, :]).reshape(-1)
            feature = np.repeat(p_feature, per)
            position = np.cumsum(live) - 1
            keep = live[pair_cell]
            pair_cell, feature = position[pair_cell[keep]], feature[keep]
            order = np.lexsort((feature, pair_cell))
            pair_cell, feature = pair_cell[order], feature[order]
            where = slots[live]
            cells = child_cells[live]
            boxes = self._cell_boxes(cells, cpd, nx)
        for array, at, values in written:
            array[at] = values
        # Block b's sub-cell codes sit at b * _SPLIT² of one array (blocks are numbered level
        # by level, each level's blocks in the order of its split cells).
        self._top_codes = top
        self._block_codes = np.concatenate(blocks) if blocks else np.zeros(0, np.int64)
        self._top_mv = self._top_codes.data
        self._block_mv = self._block_codes.data
        self._rows_mv = memoryview(b"".join(buffer))
        self.leaf_count = len(leaves)

    def _live(self, cells: NDArray[np.intp], cpd: float, nx: int, ny: int) -> NDArray[np.bool_]:
        """Cells that an out-of-state point can fall in (not wholly inside some town)."""
        if self._inside is None:
            return np.ones(cells.size, dtype=bool)
        return ~self._inside(self.x0, self.y0, cpd, nx, ny)[cells]

    @property
    def nbytes(self) -> int:
        """Memory held by the cells and the leaves' edges (not the build-time trees)."""
        return self._top_codes.nbytes + self._block_codes.nbytes + self._rows_mv.nbytes

    def nearest(self, lon: float, lat: float) -> tuple[int, float]:
        u = (lon - self.x0) * self.cells_per_degree
        v = (lat - self.y0) * self.cells_per_degree
        if not (0.0 <= u < self.nx and 0.0 <= v < self.ny):
            return self._nearest_far(lon, lat)
        code: int = self._top_mv[int(v) * self.nx + int(u)]
        while code < 0:  # down to the sub-cell holding the point: floor(4u) - 4 floor(u) is
            # floor(4u) mod 4, exactly (a multiplication by 4 is exact)
            u *= _SPLIT
            v *= _SPLIT
            code = self._block_mv[
                (-1 - code) * (_SPLIT * _SPLIT) + (int(v) % _SPLIT) * _SPLIT + int(u) % _SPLIT
            ]
        return self.nearest_in_leaf(code, lon, lat)

    def leaves_on(
        self, x0: float, y0: float, cells_per_degree: float, nx: int, ny: int
    ) -> tuple[NDArray[np.int16] | NDArray[np.int32], list[int]]:
        """For another grid (origin x0, y0; nx by ny cells) whose cells each lie in one cell of
        this structure (aligned, no coarser), the leaf holding each of its cells, as an index
        into a table of leaf codes for nearest_in_leaf() (code 0 off this grid)."""
        row, col = np.divmod(np.arange(nx * ny), nx)
        u = (x0 + (col + 0.5) / cells_per_degree - self.x0) * self.cells_per_degree
        v = (y0 + (row + 0.5) / cells_per_degree - self.y0) * self.cells_per_degree
        on = (u >= 0) & (u < self.nx) & (v >= 0) & (v < self.ny)
        code = np.zeros(nx * ny, dtype=np.int64)
        code[on] = self._top_codes[v[on].astype(np.intp) * self.nx + u[on].astype(np.intp)]
        split = np.flatnonzero(code < 0)
        while split.size:
            u[split] *= _SPLIT
            v[split] *= _SPLIT
            sub = (v[split].astype(np.intp) % _SPLIT) * _SPLIT + u[split].astype(np.intp) % _SPLIT
            code[split] = self._block_codes[(-1 - code[split]) * (_SPLIT * _SPLIT) + sub]
            split = split[code[split] < 0]
        table = unique_sorted(np.r_[0, code])
        index = np.searchsorted(table, code)
        if table.size <= np.iinfo(np.int16).max:
            return index.astype(np.int16), table.tolist()
        return index.astype(np.int32), table.tolist()

    def nearest_in_leaf(self, code: int, lon: float, lat: float) -> tuple[int, float]:
        """nearest() for a point in the leaf with this code."""
        if not code:  # a cell wholly inside a town: only reached when asked directly
            return self._nearest_by_tree(lon, lat)
        x, y = self._project(lon, lat)
        rows = self._rows_mv
        best = math.inf
        best_town = -1
        offset = code >> 16
        # Plain float arithmetic over a handful of features beats a GEOS call (about 1 µs each).
        # Ties (e.g. the vertex two towns share on the shore) go to the lower rank.
        count = (code >> 8) & 255
        while count:
            vx, vy, town = _unpack_vertex(rows, offset)
            offset += _VERTEX_SIZE
            count -= 1
            ex = x - vx
            ey = y - vy
            squared = ex * ex + ey * ey
            if squared < best or (squared == best and town < best_town):
                best = squared
                best_town = town
        count = code & 255
        while count:
            ax, ay, dx, dy, inverse, town = _unpack_interior(rows, offset)
            offset += _INTERIOR_SIZE
            count -= 1
            ex = x - ax
            ey = y - ay
            t = (ex * dx + ey * dy) * inverse
            if 0.0 < t < 1.0:  # the point projects inside the edge (else an end is nearer)
                cross = ex * dy - ey * dx
                squared = cross * cross * inverse
                if squared < best or (squared == best and town < best_town):
                    best = squared
                    best_town = town
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


def _lattice_filter(
    pair_cell: NDArray[np.intp],
    feature: NDArray[np.intp],
    boxes: tuple[NDArray[np.float64], ...],
    ends: tuple[NDArray[np.float64], ...],
    n_vertices: int,
    lattice: int,
) -> NDArray[np.bool_]:
    """Keep only the features that can be nearest for some point of their cell.

    Split the cell's box into lattice x lattice sub-boxes B with centres q, half-sides hx, hy
    and half-diagonal r. Let g be the feature nearest to q (it is among the cell's candidates),
    s_f the closed segment of feature f (a vertex: a point) and D_f(p) the distance from p to
    s_f, which is never more than f's own distance. f can be nearest at some p in B only if
    D_f(p) <= D_g(p) there. D_f is convex, so D_f(p) >= D_f(q) + u_f . (p - q), with u_f the unit
    vector from s_f's closest point to q; D_g's gradient changes by at most 1/dist per unit
    length, so D_g(p) <= D_g(q) + u_g . (p - q) + r² / (2 (D_g(q) - r)) when D_g(q) > r. Hence f
    is dropped for B when D_f(q) - D_g(q) exceeds |u_f - u_g| . (hx, hy) + r² / (2 (D_g(q) - r)),
    or 2r (both distances are 1-Lipschitz). An edge interior is nearest only where the point
    projects inside the edge, so it must also reach B. A feature dropped for every B of its
    cell is dropped. `pair_cell` must be sorted.
    """
    bx0, by0, bx1, by1 = (b[pair_cell] for b in boxes)
    half_x, half_y = (bx1 - bx0) / (2 * lattice), (by1 - by0) / (2 * lattice)
    radius = np.hypot(half_x, half_y)
    ax, ay, bx, by = (e[feature] for e in ends)
    dx, dy = bx - ax, by - ay
    vertex = feature < n_vertices
    inverse = np.where(vertex, 0.0, 1.0 / np.where(vertex, 1.0, dx * dx + dy * dy))
    reach = (np.abs(dx) * half_x + np.abs(dy) * half_y) * inverse  # of t over a sub-box
    first = np.flatnonzero(np.r_[True, pair_cell[1:] != pair_cell[:-1]])
    size = np.diff(np.r_[first, pair_cell.size])
    position = np.arange(feature.size)
    keep = np.zeros(feature.size, dtype=bool)
    for i in range(lattice):
        for j in range(lattice):
            qx = bx0 + (2 * i + 1) * half_x
            qy = by0 + (2 * j + 1) * half_y
            t = ((qx - ax) * dx + (qy - ay) * dy) * inverse
            clipped = np.clip(t, 0.0, 1.0)
            ex, ey = qx - (ax + clipped * dx), qy - (ay + clipped * dy)
            segment = np.hypot(ex, ey)
            with np.errstate(invalid="ignore", divide="ignore"):
                ux = np.where(segment > 0, ex / segment, 0.0)
                uy = np.where(segment > 0, ey / segment, 0.0)
            # The feature's own distance: an interior counts only where q projects inside.
            own = np.where(vertex | ((t >= 0.0) & (t <= 1.0)), segment, np.inf)
            nearest = np.minimum.reduceat(own, first)
            at = np.maximum.reduceat(np.where(own == np.repeat(nearest, size), position, -1), first)
            nearest = np.repeat(nearest, size)
            g = np.repeat(at, size)
            with np.errstate(invalid="ignore", divide="ignore"):
                curvature = np.where(
                    nearest > radius, radius * radius / (2 * (nearest - radius)), np.inf
                )
            slack = np.minimum(
                2 * radius,
                np.abs(ux - ux[g]) * half_x + np.abs(uy - uy[g]) * half_y + curvature,
            )
            inside_strip = vertex | ((t + reach >= 0.0) & (t - reach <= 1.0))
            keep |= inside_strip & (segment <= nearest + slack + _TOLERANCE_KM)
    return keep
