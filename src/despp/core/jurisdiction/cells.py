"""Exact point-in-town inside one boundary cell of the town grid, in plain Python floats.

A GEOS call costs several microseconds from Python; the few edges that cross one grid cell
(two, typically: one border shared by two towns) answer the same question in well under one.

Per boundary cell the build picks a reference point R inside the cell that lies on no edge line
of the cell, and asks GEOS once which towns cover R. A query point P in the same cell is in
town T exactly when R is in T and segment PR crosses T's boundary an even number of times, or
R is not in T and it crosses an odd number of times. Segment PR lies in the cell, so only the
edges touching the cell can cross it, and those are the cell's list. A shared border appears
once in the list with both towns, so one crossing moves P from one town to the other.

Exactness. Every decision is the sign of a 2 x 2 determinant (an orientation), evaluated in
floats and trusted only when its magnitude exceeds a proved bound on the rounding error:

* all coordinates (vertices, R, P) lie in the grid's box, which spans less than a factor of two
  in longitude and in latitude, so every coordinate difference is exact (Sterbenz's lemma) and
  a determinant a*b - c*d of exact differences is off by at most 2u(|ab| + |cd|), u = 2**-53;
  the bound used is twice that, from upper limits of |ab| and |cd| over the cell;
* when a determinant is within its bound (P on or within ~1e-16 degree of an edge line, or PR
  passing through a vertex), the cell answers "undecided" and the caller asks GEOS, which is the
  reference. Points exactly on a border, where ties are broken by rank, always go that way.

Proper crossing of PR with edge ab: P and R strictly on opposite sides of line ab, and a and b
strictly on opposite sides of line RP. When the edge crosses the whole cell (both ends outside
it with a safe margin) the second test always holds inside the cell and is skipped.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

# Twice the proved error bound factor 2u for a*b - c*d with exact a, b, c, d.
ORIENTATION_ERROR = 4.5e-16
# R candidates, as fractions of the cell's width and height (the first is the centre).
_R_CANDIDATES = ((0.5, 0.5), (0.3, 0.6), (0.7, 0.4), (0.4, 0.3), (0.6, 0.7),
                 (0.2, 0.2), (0.8, 0.8), (0.2, 0.8), (0.8, 0.2))  # fmt: skip
_THROUGH_MARGIN = 1e-7  # in edge lengths and cell widths: "wholly crosses the cell" margin

# The packed layout the query reads with struct (one contiguous record per cell, so a lookup
# touches two or three cache lines instead of a dozen scattered Python objects). Cell k's record
# is at k * CELL_STRIDE: a header, then its first segment; further segments follow `overflow`.
# Header: rx, ry, cone bound, answer at R (lowest covering rank or -1), the (at most two) towns
# covering R (-1: none), segment count (0: no safe R, GEOS answers), overflow (offset of the
# cell's second segment minus SEGMENT_SIZE).
HEADER = np.dtype(
    [(name, "<f8") for name in ("rx", "ry", "cone_bound")]
    + [(name, "<i2") for name in ("answer", "r1", "r2", "count")]
    + [("overflow", "<i8")]
)
# Segment: ax, ay, dx, dy, line bound, its (at most two) towns (-1: none), the answer when PR
# crosses this segment alone, R's side (d > 0), whether the cone test is needed; ua, va, ub, vb.
SEGMENT = np.dtype(
    [(name, "<f8") for name in ("ax", "ay", "dx", "dy", "bound")]
    + [(name, "<i2") for name in ("t1", "t2", "alt")]
    + [(name, "i1") for name in ("side", "cone")]
    + [(name, "<f8") for name in ("ua", "va", "ub", "vb")]
)
HEADER_FORMAT = "<dddhhhhq"
SEGMENT_FORMAT = "<dddddhhhbb"  # the first SEGMENT_HEAD bytes of a segment
CONE_FORMAT = "<dddd"  # at offset SEGMENT_HEAD
SEGMENT_HEAD = 48
SEGMENT_SIZE = SEGMENT.itemsize
CELL_STRIDE = 128
_MAX_TOWNS = 2  # towns per segment / covering R held inline; more sends the cell to GEOS
MAX_RANK = int(np.iinfo(np.int16).max)  # town ranks are stored as int16

FloatArray = NDArray[np.float64]
IntpArray = NDArray[np.intp]


@dataclass(frozen=True)
class RawEdges:
    """Ring edges in degrees (x = longitude), with the rank of their town."""

    x1: FloatArray
    y1: FloatArray
    x2: FloatArray
    y2: FloatArray
    town: IntpArray


def unique_sorted(values: NDArray[np.int64] | IntpArray) -> NDArray[np.int64]:
    """np.unique for a 1-d integer array, by sorting (numpy 2.4's hash-based unique takes
    seconds on a million keys)."""
    ordered = np.sort(values.astype(np.int64, copy=False))
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if ordered.size else ordered


def differences_are_exact(lo: float, hi: float) -> bool:
    """Sterbenz: x - y is exact for any x, y in [lo, hi] when hi <= 2 lo (same sign)."""
    a, b = sorted((abs(lo), abs(hi)))
    return (lo > 0) == (hi > 0) and lo != 0 and hi != 0 and b <= 2 * a


def build_cells(
    edges: RawEdges,
    pair_cell: IntpArray,
    pair_edge: IntpArray,
    boundary: IntpArray,
    origin: tuple[float, float],
    cells_per_degree: float,
    nx: int,
    candidates: tuple[NDArray[np.int64], NDArray[np.int32]],
    geometries: NDArray[np.object_],
) -> bytes:
    """The packed records of every boundary cell (see HEADER; count 0 where GEOS answers).

    `pair_cell`, `pair_edge`: every (cell, edge) with the edge touching the closed cell;
    `boundary`: the sorted boundary cells; `candidates` (indptr, towns): the towns that may
    cover part of each boundary cell in rank order, as CSR (every town with an edge in it, and
    the town covering its centre)."""
    x0, y0 = origin
    step = 1.0 / cells_per_degree
    seg_of_edge, seg_ends, seg_towns = _segments(edges)
    n_segments = seg_ends[0].size
    keep = seg_of_edge[pair_edge] >= 0  # zero-length edges cross nothing
    key = unique_sorted(
        np.searchsorted(boundary, pair_cell[keep]).astype(np.int64) * n_segments
        + seg_of_edge[pair_edge[keep]]
    )
    slot, seg = key // n_segments, key % n_segments
    ax, ay, bx, by = (e[seg] for e in seg_ends)
    dx, dy = bx - ax, by - ay
    iy, ix = np.divmod(boundary[slot], nx)
    left, bottom = x0 + ix * step, y0 + iy * step
    # |py - ay| <= |dy| + cell height for P in a cell the edge touches (2x for the margin).
    line_bound = ORIENTATION_ERROR * (
        np.abs(dx) * (np.abs(dy) + 2 * step) + np.abs(dy) * (np.abs(dx) + 2 * step)
    )
    rx, ry, r_side = _reference_points(slot, boundary.size, ax, ay, dx, dy, left, bottom, step)
    through = _crosses_whole_cell(ax, ay, dx, dy, left, bottom, step)
    ua, va, ub, vb = ax - rx[slot], ay - ry[slot], bx - rx[slot], by - ry[slot]
    reach = np.where(through, 0.0, np.max(np.abs([ua, va, ub, vb]), axis=0))
    cone_reach = np.zeros(boundary.size)
    np.maximum.at(cone_reach, slot, reach)
    cone_bound = ORIENTATION_ERROR * cone_reach * 4 * step  # |qx|, |qy| <= a cell side (2x)
    r_towns = _towns_covering(rx, ry, candidates, geometries)

    t1, t2 = seg_towns[0][seg], seg_towns[1][seg]
    r1, r2 = r_towns[0], r_towns[1]
    alt = _parity_of_pairs(np.stack([r1[slot], r2[slot], t1, t2]))
    record = np.zeros(seg.size, dtype=SEGMENT)
    columns = {"ax": ax, "ay": ay, "dx": dx, "dy": dy, "bound": line_bound, "side": r_side,
               "cone": ~through, "ua": ua, "va": va, "ub": ub, "vb": vb, "alt": alt,
               "t1": t1, "t2": t2}  # fmt: skip
    for name, values in columns.items():
        record[name] = values

    count = np.bincount(slot, minlength=boundary.size)
    first = np.searchsorted(slot, np.arange(boundary.size))
    unsafe = np.isnan(rx) | (count == 0) | r_towns[2]
    unsafe[slot[seg_towns[2][seg]]] = True
    padding = CELL_STRIDE - HEADER.itemsize - SEGMENT_SIZE
    main = np.zeros(
        boundary.size, dtype=[("header", HEADER), ("segment", SEGMENT), ("pad", f"V{padding}")]
    )
    header = main["header"]
    header["rx"], header["ry"], header["cone_bound"] = rx, ry, cone_bound
    header["answer"], header["r1"], header["r2"] = r1, r1, r2
    header["count"] = np.where(unsafe, 0, count)
    main["segment"][~unsafe] = record[first[~unsafe]]
    # The other segments of each cell, contiguous, after every cell's record.
    rest = np.ones(seg.size, dtype=bool)
    rest[first[count > 0]] = False
    overflow_start = boundary.size * CELL_STRIDE + SEGMENT_SIZE * (
        np.cumsum(count - (count > 0)) - (count - (count > 0))
    )
    header["overflow"] = overflow_start - SEGMENT_SIZE
    return main.tobytes() + record[rest].tobytes()


def _segments(
    edges: RawEdges,
) -> tuple[IntpArray, tuple[FloatArray, ...], tuple[IntpArray, IntpArray, NDArray[np.bool_]]]:
    """Geometric segments (an edge shared by two towns once), with the towns of each.

    Returns the segment of each edge (-1 for zero-length edges), the segments' end points and
    their towns: the lowest and second-lowest rank of the rings that hold it (-1: none; a rank
    twice if a ring holds it twice, so parity still counts it twice), and whether more than
    _MAX_TOWNS do."""
    a = np.stack([edges.x1, edges.y1], 1)
    b = np.stack([edges.x2, edges.y2], 1)
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    unique, inverse = np.unique(np.concatenate([lo, hi], 1), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    degenerate = (unique[:, 0] == unique[:, 2]) & (unique[:, 1] == unique[:, 3])
    return (
        np.where(degenerate[inverse], -1, inverse),
        (unique[:, 0], unique[:, 1], unique[:, 2], unique[:, 3]),
        _first_two(inverse, edges.town, len(unique)),
    )


def _first_two(
    group: IntpArray, value: IntpArray, n_groups: int
) -> tuple[IntpArray, IntpArray, NDArray[np.bool_]]:
    """Per group: its lowest and second-lowest value (-1 where missing), and whether it has
    more than _MAX_TOWNS values."""
    order = np.lexsort((value, group))
    group, value = group[order], value[order]
    start = np.searchsorted(group, np.arange(n_groups))
    size = np.bincount(group, minlength=n_groups)
    first = np.where(size > 0, value[np.minimum(start, value.size - 1)], -1)
    second = np.where(size > 1, value[np.minimum(start + 1, value.size - 1)], -1)
    return first, second, size > _MAX_TOWNS


def _reference_points(
    slot: IntpArray,
    n_slots: int,
    ax: FloatArray,
    ay: FloatArray,
    dx: FloatArray,
    dy: FloatArray,
    left: FloatArray,
    bottom: FloatArray,
    step: float,
) -> tuple[FloatArray, FloatArray, NDArray[np.bool_]]:
    """Per cell, the candidate R farthest from every edge line of the cell whose side of every
    line is certain (NaN when none is); and per (cell, segment) pair the side of R."""
    best_score = np.full(n_slots, -1.0)
    rx = np.full(n_slots, np.nan)
    ry = np.full(n_slots, np.nan)
    length = np.hypot(dx, dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        for fx, fy in _R_CANDIDATES:
            cx, cy = left + fx * step, bottom + fy * step  # per pair; the same within a cell
            left_term, right_term = dx * (cy - ay), dy * (cx - ax)
            d = left_term - right_term
            bound = ORIENTATION_ERROR * (np.abs(left_term) + np.abs(right_term))
            score = np.where(np.abs(d) > bound, np.abs(d) / length, -1.0)  # distance to line
            worst = np.full(n_slots, np.inf)
            np.minimum.at(worst, slot, score)
            better = (worst > best_score) & (worst > 0)
            best_score = np.where(better, worst, best_score)
            cell_x = np.full(n_slots, np.nan)
            cell_y = np.full(n_slots, np.nan)
            cell_x[slot], cell_y[slot] = cx, cy
            rx = np.where(better, cell_x, rx)
            ry = np.where(better, cell_y, ry)
    d = dx * (ry[slot] - ay) - dy * (rx[slot] - ax)
    return rx, ry, d > 0


def _crosses_whole_cell(
    ax: FloatArray, ay: FloatArray, dx: FloatArray, dy: FloatArray,
    left: FloatArray, bottom: FloatArray, step: float,
) -> NDArray[np.bool_]:  # fmt: skip
    """Whether the part of the edge's line inside the cell (widened a little) lies within the
    edge, away from both its ends (Liang-Barsky clipping with margins)."""
    pad = _THROUGH_MARGIN * step
    t_in = np.full(ax.size, -np.inf)
    t_out = np.full(ax.size, np.inf)
    meets = np.ones(ax.size, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for start, delta, lo, hi in ((ax, dx, left - pad, left + step + pad),
                                     (ay, dy, bottom - pad, bottom + step + pad)):  # fmt: skip
            moving = delta != 0
            t1 = (lo - start) / delta
            t2 = (hi - start) / delta
            t_in = np.where(moving, np.maximum(t_in, np.minimum(t1, t2)), t_in)
            t_out = np.where(moving, np.minimum(t_out, np.maximum(t1, t2)), t_out)
            meets &= moving | ((lo <= start) & (start <= hi))
    return meets & (t_in <= t_out) & (t_in > _THROUGH_MARGIN) & (t_out < 1 - _THROUGH_MARGIN)


def _towns_covering(
    rx: FloatArray,
    ry: FloatArray,
    candidates: tuple[NDArray[np.int64], NDArray[np.int32]],
    geometries: NDArray[np.object_],
) -> tuple[IntpArray, IntpArray, NDArray[np.bool_]]:
    """Per cell, the towns whose polygon covers R, by GEOS: the lowest and second-lowest rank
    (-1 where none), and whether more than _MAX_TOWNS do."""
    indptr, towns = candidates
    pair_slot = np.repeat(np.arange(rx.size), np.diff(indptr))
    ok = ~np.isnan(rx[pair_slot])
    pair_slot, pair_town = pair_slot[ok], towns[ok].astype(np.intp)
    hit = shapely.intersects_xy(geometries[pair_town], rx[pair_slot], ry[pair_slot])
    return _first_two(pair_slot[hit], pair_town[hit], rx.size)


def _parity_of_pairs(towns: IntpArray) -> IntpArray:
    """parity() for many cells at once: row 0-1 the towns covering R, rows 2-3 those of the
    crossed segment (-1: none). Each column's lowest town present an odd number of times."""
    present = towns >= 0
    times = (towns[:, None, :] == towns[None, :, :]).sum(axis=1)
    odd = present & (times % 2 == 1)
    lowest = np.where(odd, towns, np.iinfo(np.intp).max).min(axis=0)
    return np.where(odd.any(axis=0), lowest, -1)


def parity(r_towns: tuple[int, ...], crossed: Sequence[int]) -> int:
    """The lowest-ranked town covering P, given the towns covering R and the town of every
    boundary that PR crosses (a town crossed an odd number of times flips)."""
    inside = set(r_towns)
    for town in crossed:
        if town in inside:
            inside.remove(town)
        else:
            inside.add(town)
    return min(inside) if inside else -1
