"""Exact point-in-town lookup through a uniform grid over the state's bounding box.

Each grid cell is classified once, at build time:

* a *uniform* cell has no town boundary within a small margin of its closed box, so every
  point in it is in the same town (or in none) as the cell's centre; the grid stores that
  answer and a lookup is one array read;
* a *boundary* cell is crossed or touched by at least one town boundary; the grid stores the
  towns that may cover part of it, and a point there is tested exactly against those towns'
  polygons with GEOS (shapely `intersects_xy`, the closed-polygon test).

Rule for points covered by more than one closed polygon (a point exactly on a shared border):
the town with the lowest rank wins; ranks are the order of the geometries given to the grid,
which the jurisdiction index sorts by 2020 town FIPS code. A point covered by no polygon
(water, another state, a sliver between polygons) is outside (-1).

Boundary cells are found by an exact "supercover" of every polygon edge (every cell that an
edge passes through or touches, with a margin of `_EPS` cell widths for rounding), so a cell
left uniform has no boundary within that margin and floating-point error in mapping a point
to its cell can never change the answer. Uniform cells take their value from an even-odd
scanline fill of the cell centres, which is exact there because no boundary is near them.
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import lib as shapely_lib

from despp.core.jurisdiction.cells import (
    CELL_STRIDE,
    CONE_FORMAT,
    HEADER_FORMAT,
    MAX_RANK,
    SEGMENT_FORMAT,
    SEGMENT_HEAD,
    SEGMENT_SIZE,
    RawEdges,
    build_cells,
    differences_are_exact,
    parity,
    unique_sorted,
)

OUTSIDE = -1
_EPS = 1e-6  # margin, in cell widths, within which a boundary makes a cell a boundary cell
_PARALLEL_MIN_POINTS = 200_000  # below this a batch runs on one thread (thread start-up)

IntArray = NDArray[np.int32]
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)
_unpack_header = struct.Struct(HEADER_FORMAT).unpack_from
_unpack_segment = struct.Struct(SEGMENT_FORMAT).unpack_from
_unpack_cone = struct.Struct(CONE_FORMAT).unpack_from
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class _Edges:
    """Every ring edge of every town, in grid units, with the rank of its town."""

    u1: FloatArray
    v1: FloatArray
    u2: FloatArray
    v2: FloatArray
    town: NDArray[np.intp]
    raw: RawEdges | None = None  # the same edges in degrees


class TownGrid:
    """Answers "which town covers (lon, lat)" exactly, for one point or a numpy batch."""

    def __init__(self, geometries: Sequence[shapely.Geometry], cells_per_degree: int = 1024):
        if not geometries:
            raise ValueError("a town grid needs at least one town polygon")
        self.geometries = np.asarray(geometries, dtype=object)
        shapely.prepare(self.geometries)
        # GEOS builds a prepared polygon's point locator on first use; build it now, before
        # several threads (a split batch, a threaded server) share the geometries read-only.
        probe = shapely.get_coordinates(shapely.point_on_surface(self.geometries))
        shapely.intersects_xy(self.geometries, probe[:, 0], probe[:, 1])
        self.cells_per_degree = float(cells_per_degree)
        minx, miny, maxx, maxy = shapely.total_bounds(self.geometries)
        # One empty cell of margin on every side, so cell 0 is always a uniform outside cell.
        self.x0 = np.floor(minx * cells_per_degree) / cells_per_degree - 1 / cells_per_degree
        self.y0 = np.floor(miny * cells_per_degree) / cells_per_degree - 1 / cells_per_degree
        self.nx = int(np.ceil((maxx - self.x0) * cells_per_degree)) + 2
        self.ny = int(np.ceil((maxy - self.y0) * cells_per_degree)) + 2
        self._build()

    # ---- build ---------------------------------------------------------------------------

    def _edges(self) -> _Edges:
        parts, part_town = shapely.get_parts(self.geometries, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of_coord = shapely.get_coordinates(rings, return_index=True)
        same_ring = ring_of_coord[1:] == ring_of_coord[:-1]
        start = np.flatnonzero(same_ring)
        u = (coords[:, 0] - self.x0) * self.cells_per_degree
        v = (coords[:, 1] - self.y0) * self.cells_per_degree
        town = part_town[ring_part[ring_of_coord[start]]]
        x, y = coords[:, 0], coords[:, 1]
        raw = RawEdges(x[start], y[start], x[start + 1], y[start + 1], town)
        return _Edges(u[start], v[start], u[start + 1], v[start + 1], town, raw)

    def _touched_cells(self, edges: _Edges) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(cell, edge) for every cell that an edge passes through or comes within _EPS of."""
        cells: list[NDArray[np.intp]] = []
        found: list[NDArray[np.intp]] = []

        def mark(cols: FloatArray, rows: FloatArray, edge: NDArray[np.intp]) -> None:
            for dc in (-_EPS, _EPS):
                for dr in (-_EPS, _EPS):
                    c = np.floor(cols + dc).astype(np.intp)
                    r = np.floor(rows + dr).astype(np.intp)
                    cells.append(r * self.nx + c)
                    found.append(edge)

        # Both end points of every edge.
        every = np.arange(edges.u1.size)
        mark(edges.u1, edges.v1, every)
        mark(edges.u2, edges.v2, every)
        # Every crossing with a vertical grid line u = k (cells k-1 and k on either side),
        # then with a horizontal line v = m.
        for along, across, along_end, across_end, vertical in (
            (edges.u1, edges.v1, edges.u2, edges.v2, True),
            (edges.v1, edges.u1, edges.v2, edges.u2, False),
        ):
            lo = np.ceil(np.minimum(along, along_end))
            hi = np.floor(np.maximum(along, along_end))
            count = np.maximum(hi - lo + 1, 0).astype(np.intp)
            moving = (along_end != along) & (count > 0)
            count = np.where(moving, count, 0)
            edge = np.repeat(np.arange(count.size), count)
            offset = np.arange(edge.size) - np.repeat(np.cumsum(count) - count, count)
            line = lo[edge] + offset
            t = (line - along[edge]) / (along_end[edge] - along[edge])
            cross = across[edge] + t * (across_end[edge] - across[edge])
            for side in (line - 0.5, line + 0.5):
                if vertical:
                    mark(side, cross, edge)
                else:
                    mark(cross, side, edge)
        return np.concatenate(cells), np.concatenate(found)

    def _centre_raster(self, edges: _Edges) -> NDArray[np.int32]:
        """Town rank + 1 covering each cell centre (0 = none), by an even-odd scanline fill."""
        lo_v = np.minimum(edges.v1, edges.v2)
        hi_v = np.maximum(edges.v1, edges.v2)
        # Rows whose centre line v = r + 0.5 is crossed: lo_v <= r + 0.5 < hi_v.
        first = np.ceil(lo_v - 0.5).astype(np.intp)
        last = np.ceil(hi_v - 0.5).astype(np.intp) - 1
        count = np.maximum(last - first + 1, 0)
        edge = np.repeat(np.arange(count.size), count)
        row = first[edge] + (np.arange(edge.size) - np.repeat(np.cumsum(count) - count, count))
        t = (row + 0.5 - edges.v1[edge]) / (edges.v2[edge] - edges.v1[edge])
        u = edges.u1[edge] + t * (edges.u2[edge] - edges.u1[edge])
        town = edges.town[edge]
        order = np.lexsort((u, row, town))
        town, row, u = town[order], row[order], u[order]
        # Crossings come in pairs per (town, row): enter at even positions, leave at odd ones.
        group_start = np.r_[True, (town[1:] != town[:-1]) | (row[1:] != row[:-1])]
        position = np.arange(u.size) - np.maximum.accumulate(
            np.where(group_start, np.arange(u.size), 0)
        )
        enter = position % 2 == 0
        col_in = np.ceil(u[enter] - 0.5).astype(np.intp)
        col_out = np.ceil(u[~enter] - 0.5).astype(np.intp)
        diff = np.zeros((self.ny, self.nx + 1), dtype=np.int64)
        value = town[enter] + 1
        np.add.at(diff, (row[enter], np.clip(col_in, 0, self.nx)), value)
        np.add.at(diff, (row[enter], np.clip(col_out, 0, self.nx)), -value)
        return np.cumsum(diff[:, : self.nx], axis=1).astype(np.int32)

    def _outline_cells(self, edges: _Edges) -> NDArray[np.intp]:
        """Cells touched by an edge that only one town has (the state's outline, conservatively).

        An edge shared by two towns appears twice, once each way; an edge seen once borders
        water, another state or a gap. Cells away from every such edge are wholly covered by
        the towns whose boundaries cross them.
        """
        a = np.stack([edges.u1, edges.v1], axis=1)
        b = np.stack([edges.u2, edges.v2], axis=1)
        swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
        lo = np.where(swap[:, None], b, a)
        hi = np.where(swap[:, None], a, b)
        key = np.ascontiguousarray(np.concatenate([lo, hi], axis=1))
        _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        single = counts[inverse.reshape(-1)] == 1
        outline = _Edges(
            edges.u1[single],
            edges.v1[single],
            edges.u2[single],
            edges.v2[single],
            edges.town[single],
        )
        cells, _ = self._touched_cells(outline)
        return unique_sorted(cells)

    def _build(self) -> None:
        edges = self._edges()
        cells, edge_ids = self._touched_cells(edges)
        towns = edges.town[edge_ids]
        centre = self._centre_raster(edges).reshape(-1)
        boundary = unique_sorted(cells)
        centre_town = centre[boundary] - 1
        has_centre = centre_town >= 0
        pair_cell = np.concatenate([cells, boundary[has_centre]])
        pair_town = np.concatenate([towns, centre_town[has_centre]])
        pairs = unique_sorted(pair_cell.astype(np.int64) * self.geometries.size + pair_town)
        pair_cell = pairs // self.geometries.size
        pair_town = pairs % self.geometries.size
        slot_of_pair = np.searchsorted(boundary, pair_cell)
        indptr = np.searchsorted(slot_of_pair, np.arange(boundary.size + 1))

        grid = (centre - 1).astype(np.int32)
        grid[boundary] = -2 - np.arange(boundary.size, dtype=np.int32)
        covered = ~np.isin(boundary, self._outline_cells(edges))

        self.grid = grid
        self.boundary_cells = boundary
        self.indptr = indptr.astype(np.int64)
        self.candidates = pair_town.astype(np.int32)
        self.covered = covered
        # Plain-Python views for the single-point path (a memoryview read is ~0.1 µs).
        self._grid_mv = self.grid.data
        self._indptr_mv = self.indptr.data
        self._candidates_mv = self.candidates.data
        self._covered_mv = self.covered.view(np.uint8).data
        self._prepared = list(self.geometries)
        # Packed per-cell records for the exact test in plain floats (cells.py); empty when the
        # grid's box is too wide for exact coordinate differences (every cell then asks GEOS).
        self._packed = b""
        if edges.raw is not None and self._differences_exact():
            self._packed = build_cells(
                edges.raw, cells, edge_ids, boundary, (self.x0, self.y0),
                self.cells_per_degree, self.nx, (self.indptr, self.candidates), self.geometries,
            )  # fmt: skip

    @property
    def nbytes(self) -> int:
        """Memory held by the grid's arrays and packed cells (not the town polygons)."""
        arrays = (self.grid, self.boundary_cells, self.indptr, self.candidates, self.covered)
        return sum(a.nbytes for a in arrays) + len(self._packed)

    def _differences_exact(self) -> bool:
        """Whether any two coordinates in the grid's box differ exactly in floats (cells.py)."""
        return (
            self.geometries.size <= MAX_RANK
            and differences_are_exact(self.x0, self.x0 + self.nx / self.cells_per_degree)
            and differences_are_exact(self.y0, self.y0 + self.ny / self.cells_per_degree)
        )

    def inside_blocks(
        self, x0: float, y0: float, cells_per_degree: float, nx: int, ny: int
    ) -> NDArray[np.bool_]:
        """For a coarser grid (origin x0, y0; nx by ny cells), which of its cells lie wholly in
        cells of this grid that towns cover whole (uniform in-town cells, and boundary cells
        that only shared borders cross). All False when the two grids do not align."""
        ratio = self.cells_per_degree / cells_per_degree
        ox = (x0 - self.x0) * self.cells_per_degree
        oy = (y0 - self.y0) * self.cells_per_degree
        if not (float(ratio).is_integer() and float(ox).is_integer() and float(oy).is_integer()):
            return np.zeros(nx * ny, dtype=bool)
        r, ox, oy = int(ratio), int(ox), int(oy)
        inside = self.grid >= 0
        inside[self.boundary_cells[self.covered]] = True
        inside = inside.reshape(self.ny, self.nx)
        canvas = np.zeros((ny * r, nx * r), dtype=bool)
        rows = slice(max(0, -oy), min(ny * r, self.ny - oy))
        cols = slice(max(0, -ox), min(nx * r, self.nx - ox))
        if rows.start < rows.stop and cols.start < cols.stop:
            canvas[rows, cols] = inside[
                rows.start + oy : rows.stop + oy, cols.start + ox : cols.stop + ox
            ]
        return canvas.reshape(ny, r, nx, r).all(axis=(1, 3)).reshape(-1)

    # ---- queries -------------------------------------------------------------------------

    def town_at(self, lon: float, lat: float) -> int:
        """Rank of the town covering one point, or OUTSIDE. Coordinates must be finite."""
        found = self.town_or_cell(lon, lat)
        return found if found >= 0 else OUTSIDE

    def town_or_cell(self, lon: float, lat: float) -> int:
        """Rank of the town covering one point; for a point that no town covers, -2 - the grid
        cell holding it (OUTSIDE off the grid), so that the nearest-town search can start
        from the cell. Coordinates must be finite."""
        u = (lon - self.x0) * self.cells_per_degree
        v = (lat - self.y0) * self.cells_per_degree
        if not (0.0 <= u < self.nx and 0.0 <= v < self.ny):
            return OUTSIDE
        cell = int(v) * self.nx + int(u)
        code: int = self._grid_mv[cell]
        if code >= 0:
            return code
        if code == OUTSIDE:
            return -2 - cell
        slot = -2 - code
        packed = self._packed
        if packed:
            # Exact crossing count from the cell's reference point R (see cells.py).
            base = slot * CELL_STRIDE
            rx, ry, cone_bound, answer, r1, r2, count, overflow = _unpack_header(packed, base)
            if count:
                offset = base + HEADER_SIZE
                flips: list[int] = []
                crossed = 0
                for k in range(count):
                    if k:
                        offset = overflow + SEGMENT_SIZE * k
                    ax, ay, dx, dy, bound, t1, t2, alt, r_side, cone = _unpack_segment(
                        packed, offset
                    )
                    d = dx * (lat - ay) - dy * (lon - ax)
                    if d > bound:
                        if r_side:
                            continue
                    elif d < -bound:
                        if not r_side:
                            continue
                    else:
                        break  # P on or next to the edge's line: GEOS decides
                    if cone:  # the edge may end in the cell: does line RP split it?
                        ua, va, ub, vb = _unpack_cone(packed, offset + SEGMENT_HEAD)
                        qx = lon - rx
                        qy = lat - ry
                        oa = ua * qy - va * qx
                        ob = ub * qy - vb * qx
                        if -cone_bound <= oa <= cone_bound or -cone_bound <= ob <= cone_bound:
                            break  # PR passes through or next to a vertex
                        if (oa > 0.0) is (ob > 0.0):
                            continue
                    answer = alt
                    crossed += 1
                    flips.append(t1)
                    if t2 >= 0:
                        flips.append(t2)
                else:
                    if crossed > 1:  # more than one border between R and P: count per town
                        answer = parity((r1, r2) if r2 >= 0 else (r1,) if r1 >= 0 else (), flips)
                    return answer if answer >= 0 else -2 - cell
        answer = self._town_at_geos(slot, lon, lat)
        return answer if answer >= 0 else -2 - cell

    def _town_at_geos(self, slot: int, lon: float, lat: float) -> int:
        start: int = self._indptr_mv[slot]
        end: int = self._indptr_mv[slot + 1]
        if self._covered_mv[slot]:
            # The point is covered by one of the candidates: no need to test the last one.
            end -= 1
        for k in range(start, end):
            town: int = self._candidates_mv[k]
            if shapely_lib.intersects_xy(self._prepared[town], lon, lat):
                return town
        return self._candidates_mv[end] if self._covered_mv[slot] else OUTSIDE

    def towns_at(self, lons: FloatArray, lats: FloatArray) -> IntArray:
        """Rank of the covering town for every point (OUTSIDE where none); finite inputs."""
        if lons.size >= _PARALLEL_MIN_POINTS:
            return self._towns_at_parallel(lons, lats)
        return self._towns_at(lons, lats)

    def _towns_at_parallel(self, lons: FloatArray, lats: FloatArray) -> IntArray:
        from concurrent.futures import ThreadPoolExecutor

        # numpy and GEOS release the GIL, so two threads use both cores of a small server.
        half = lons.size // 2
        out = np.empty(lons.size, dtype=np.int32)
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(self._towns_at, lons[:half], lats[:half])
            out[half:] = self._towns_at(lons[half:], lats[half:])
            out[:half] = first.result()
        return out

    def _towns_at(self, lons: FloatArray, lats: FloatArray) -> IntArray:
        u = np.floor((lons - self.x0) * self.cells_per_degree)
        v = np.floor((lats - self.y0) * self.cells_per_degree)
        in_grid = (u >= 0) & (u < self.nx) & (v >= 0) & (v < self.ny)
        # Cell 0 is a uniform outside cell, so points off the grid can safely read it.
        flat = np.where(in_grid, v * self.nx + u, 0).astype(np.intp)
        result = self.grid[flat]
        (points,) = np.nonzero(result <= -2)
        if points.size:
            result[points] = self._exact(points, -2 - result[points], lons, lats)
        return result

    def _exact(
        self, points: NDArray[np.intp], slots: IntArray, lons: FloatArray, lats: FloatArray
    ) -> IntArray:
        start = self.indptr[slots]
        count = self.indptr[slots + 1] - start
        covered = self.covered[slots]
        tested = count - covered  # the last candidate of a covered cell needs no test
        pair_point = np.repeat(np.arange(points.size), tested)
        offset = np.arange(pair_point.size) - np.repeat(np.cumsum(tested) - tested, tested)
        pair_town = self.candidates[start[pair_point] + offset]
        hit = shapely.intersects_xy(
            self.geometries[pair_town], lons[points[pair_point]], lats[points[pair_point]]
        )
        answer = np.where(covered, self.candidates[start + count - 1], OUTSIDE).astype(np.int32)
        hit_point = pair_point[hit]
        # Candidates are in rank order, so the first hit per point is the lowest-ranked town.
        first_points, first_at = np.unique(hit_point, return_index=True)
        answer[first_points] = pair_town[hit][first_at]
        return answer
