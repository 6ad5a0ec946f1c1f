"""The plain-float point-in-town test of boundary cells (jurisdiction/cells.py) and the
nearest-town leaves (jurisdiction/nearest.py) give GEOS's answers: for points exactly on
vertices and edges, a rounding error away from them, and clear of them."""

import struct

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from despp.core.jurisdiction import cells
from despp.core.jurisdiction.grid import OUTSIDE, TownGrid
from despp.core.jurisdiction.index import TownGeometry, TownShape
from despp.core.jurisdiction.nearest import CONNECTICUT_LCC
from despp.core.reference import read_dataset

_TOWNS = sorted(read_dataset().towns, key=lambda t: t.fips_2020)
_GEOMETRIES = [t.geometry for t in _TOWNS]


def _ring_edges(geometries: list[shapely.Geometry]) -> np.ndarray:
    rings = shapely.get_rings(shapely.get_parts(geometries))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    start = np.flatnonzero(ring[1:] == ring[:-1])
    return np.concatenate([coords[start], coords[start + 1]], axis=1)


_EDGES = _ring_edges(_GEOMETRIES)


def geos_town(geometries: list[shapely.Geometry], lon: float, lat: float) -> int:
    """The lowest-ranked town whose closed polygon covers the point, by GEOS; else OUTSIDE."""
    hits = np.flatnonzero(shapely.intersects_xy(np.asarray(geometries), lon, lat))
    return int(hits[0]) if hits.size else OUTSIDE


@pytest.fixture(scope="module")
def grid() -> TownGrid:
    return TownGrid(_GEOMETRIES)


def _point_by_edge(edge: np.ndarray, t: float, offset: float) -> tuple[float, float]:
    """The point at t along the edge, moved `offset` degrees along its normal."""
    x1, y1, x2, y2 = (float(v) for v in edge)
    length = float(np.hypot(x2 - x1, y2 - y1)) or 1.0
    return (
        x1 + t * (x2 - x1) - offset * (y2 - y1) / length,
        y1 + t * (y2 - y1) + offset * (x2 - x1) / length,
    )


_offsets = st.one_of(
    st.just(0.0),
    st.sampled_from([1e-15, -1e-15, 1e-13, -1e-13, 1e-11, -1e-11, 1e-9, -1e-9]),
    st.floats(-2e-3, 2e-3),
)
_along = st.one_of(st.sampled_from([0.0, 1.0, 0.5]), st.floats(0.0, 1.0))


@settings(max_examples=400, deadline=None)
@given(
    edge=st.integers(0, len(_EDGES) - 1),
    t=_along,
    offset=_offsets,
)
def test_a_point_on_near_or_off_a_town_edge_gets_the_town_geos_gives(grid, edge, t, offset):
    lon, lat = _point_by_edge(_EDGES[edge], t, offset)
    assert grid.town_at(lon, lat) == geos_town(_GEOMETRIES, lon, lat)


def _ulps(value: float, steps: int) -> float:
    """The float `steps` representable numbers away from value."""
    for _ in range(abs(steps)):
        value = float(np.nextafter(value, np.inf if steps > 0 else -np.inf))
    return value


@settings(max_examples=300, deadline=None)
@given(
    edge=st.integers(0, len(_EDGES) - 1),
    end=st.sampled_from([0, 2]),
    steps=st.tuples(st.integers(-3, 3), st.integers(-3, 3)),
)
def test_a_point_on_a_vertex_or_a_few_floats_beside_it_gets_the_town_geos_gives(
    grid, edge, end, steps
):
    lon = _ulps(float(_EDGES[edge, end]), steps[0])
    lat = _ulps(float(_EDGES[edge, end + 1]), steps[1])
    assert grid.town_at(lon, lat) == geos_town(_GEOMETRIES, lon, lat)


def test_boundary_cells_answer_points_clear_of_every_edge_without_geos(grid, monkeypatch):
    rng = np.random.default_rng(5)
    picked = rng.choice(grid.boundary_cells, 20_000)
    row, col = np.divmod(picked, grid.nx)
    lons = grid.x0 + (col + rng.random(picked.size)) / grid.cells_per_degree
    lats = grid.y0 + (row + rng.random(picked.size)) / grid.cells_per_degree
    # Keep the points farther than 1e-9 degree from every edge: no rounding bound comes close.
    outlines = shapely.boundary(np.asarray(_GEOMETRIES))
    tree = shapely.STRtree(outlines)
    _, distance = tree.query_nearest(
        shapely.points(lons, lats), return_distance=True, all_matches=False
    )
    clear = distance > 1e-9
    expected = [geos_town(_GEOMETRIES, x, y) for x, y in zip(lons[clear], lats[clear], strict=True)]

    def no_geos(*args: object) -> int:
        raise AssertionError("a point clear of every edge was sent to GEOS")

    monkeypatch.setattr(grid, "_town_at_geos", no_geos)
    found = [grid.town_at(x, y) for x, y in zip(lons[clear], lats[clear], strict=True)]

    assert clear.sum() > 19_000
    assert found == expected
    assert OUTSIDE in found and len(set(found)) > 100  # shore cells and most towns took part


# ---- synthetic towns with edges along grid lines, a hole, and parts meeting at a vertex ----

_STEP = 1 / 1024  # the grid's cell side: vertices on cell corners and edges on cell sides
_X, _Y = -72.5, 41.5


def _at(i: float, j: float) -> tuple[float, float]:
    return (_X + i * _STEP, _Y + j * _STEP)


_SYNTHETIC = [
    # 0: a square with a square hole; its east side is a cell side shared with town 1
    shapely.Polygon(
        [_at(0, 0), _at(8, 0), _at(8, 8), _at(0, 8)],
        [[_at(2, 2), _at(5, 2), _at(5, 5), _at(2, 5)]],
    ),
    # 1: the town east of it, sharing that side, with a vertex mid-side (a T-junction)
    shapely.Polygon([_at(8, 0), _at(13, 0), _at(13, 8), _at(8, 8), _at(8, 3.5)]),
    # 2: a diamond filling the hole's centre, its vertices on cell centres and corners
    shapely.Polygon([_at(3.5, 2.5), _at(4.5, 3.5), _at(3.5, 4.5), _at(2.5, 3.5)]),
    # 3: two triangles meeting at one vertex (a cell corner), north of town 0
    shapely.MultiPolygon(
        [
            shapely.Polygon([_at(0, 9), _at(3, 9), _at(3, 12)]),
            shapely.Polygon([_at(3, 12), _at(6, 12), _at(6, 15.25)]),
        ]
    ),
    # 4: a thin sliver with long, nearly parallel edges crossing many cells
    shapely.Polygon([_at(0.1, 16), _at(13, 16.002), _at(13, 16.01)]),
]


@pytest.fixture(scope="module")
def synthetic_grid() -> TownGrid:
    assert all(shapely.is_valid(g) for g in _SYNTHETIC)
    return TownGrid(_SYNTHETIC)


_quarter_cells = st.tuples(st.integers(-8, 60), st.integers(-8, 70)).map(
    lambda ij: _at(ij[0] / 4, ij[1] / 4)  # on cell corners, sides and centres
)
_anywhere = st.tuples(st.floats(-2, 15), st.floats(-2, 18)).map(lambda ij: _at(*ij))


@settings(max_examples=600, deadline=None)
@given(point=st.one_of(_quarter_cells, _anywhere))
def test_synthetic_towns_on_the_grid_lines_get_the_towns_geos_gives(synthetic_grid, point):
    assert synthetic_grid._packed  # the plain-float test is in use
    lon, lat = point
    assert synthetic_grid.town_at(lon, lat) == geos_town(_SYNTHETIC, lon, lat)


@settings(max_examples=300, deadline=None)
@given(edge=st.integers(0, len(_ring_edges(_SYNTHETIC)) - 1), t=_along, offset=_offsets)
def test_synthetic_points_on_and_next_to_edges_get_the_towns_geos_gives(
    synthetic_grid, edge, t, offset
):
    lon, lat = _point_by_edge(_ring_edges(_SYNTHETIC)[edge], t, offset * 1e-3)
    assert synthetic_grid.town_at(lon, lat) == geos_town(_SYNTHETIC, lon, lat)


def test_a_grid_too_wide_for_exact_differences_asks_geos_and_stays_exact():
    # Longitudes from 0.3 to 0.9 differ by more than a factor of two: no exact differences.
    towns = [shapely.box(0.3, 0.3, 0.6, 0.6), shapely.box(0.6, 0.3, 0.9, 0.6)]
    grid = TownGrid(towns, cells_per_degree=64)
    rng = np.random.default_rng(3)
    points = [
        (0.6, 0.45),
        (0.3, 0.3),
        *zip(rng.uniform(0.25, 0.95, 500), rng.uniform(0.25, 0.65, 500), strict=True),
    ]

    assert grid._packed == b""
    assert [grid.town_at(float(x), float(y)) for x, y in points] == [
        geos_town(towns, float(x), float(y)) for x, y in points
    ]


def test_the_packed_layout_matches_the_struct_formats_the_query_reads():
    assert struct.calcsize(cells.HEADER_FORMAT) == cells.HEADER.itemsize
    assert struct.calcsize(cells.SEGMENT_FORMAT) == cells.SEGMENT_HEAD
    assert cells.SEGMENT.fields["ua"][1] == cells.SEGMENT_HEAD
    assert struct.calcsize(cells.CONE_FORMAT) == cells.SEGMENT_SIZE - cells.SEGMENT_HEAD
    assert cells.HEADER.itemsize + cells.SEGMENT_SIZE <= cells.CELL_STRIDE


def test_parity_flips_each_town_crossed_an_odd_number_of_times():
    assert cells.parity((4,), [4, 9]) == 9  # across a border from town 4 into town 9
    assert cells.parity((4,), [4, 9, 9, 2]) == 2  # then across 9's border with 2
    assert cells.parity((), [7]) == 7  # from the water into town 7
    assert cells.parity((7,), [7]) == -1  # from town 7 into the water


def test_differences_are_exact_only_within_a_factor_of_two_of_one_sign():
    assert cells.differences_are_exact(-73.8, -71.7)
    assert cells.differences_are_exact(40.9, 42.1)
    assert not cells.differences_are_exact(0.3, 0.9)
    assert not cells.differences_are_exact(-1.0, 1.0)
    assert not cells.differences_are_exact(0.0, 1.0)


# ---- nearest town ------------------------------------------------------------------------------


def test_a_point_equally_near_two_towns_where_they_meet_on_the_shore_gets_the_lower_rank():
    geometry = TownGeometry([TownShape(t.fips_2020, t.name, t.geometry) for t in _TOWNS])
    nearest = geometry.nearest()
    edges = _ring_edges(_GEOMETRIES)
    edge_town = np.repeat(np.arange(len(_GEOMETRIES)), [len(_ring_edges([g])) for g in _GEOMETRIES])
    ax, ay = CONNECTICUT_LCC.forward_many(edges[:, 0], edges[:, 1])
    bx, by = CONNECTICUT_LCC.forward_many(edges[:, 2], edges[:, 3])
    projected = shapely.linestrings(np.stack([np.stack([ax, ay], 1), np.stack([bx, by], 1)], 1))
    union = shapely.union_all(_GEOMETRIES)
    borders = shapely.boundary(np.asarray(_GEOMETRIES))
    ties = 0
    for ring in shapely.get_rings(shapely.get_parts(union)):
        shore = shapely.get_coordinates(ring)[:-1]
        for k, (lon, lat) in enumerate(shore.tolist()):
            if np.count_nonzero(shapely.intersects_xy(borders, lon, lat)) != 2:
                continue
            # 50 m out along the bisector of the outline's corner at a vertex two towns share
            # (angles measured with longitude scaled by cos(latitude), as the conformal
            # projection sees them): there the vertex is the nearest point of both towns.
            scale = np.array([np.cos(np.radians(lat)), 1.0])
            before = (shore[k] - shore[k - 1]) * scale
            after = (shore[(k + 1) % len(shore)] - shore[k]) * scale
            way = before / np.linalg.norm(before) - after / np.linalg.norm(after)
            if np.linalg.norm(way) < 1e-9:
                continue
            for sign in (1.0, -1.0):
                step = sign * 5e-4 * way / np.linalg.norm(way) / scale
                px, py = lon + float(step[0]), lat + float(step[1])
                if shapely.intersects_xy(union, px, py):
                    continue
                x, y = CONNECTICUT_LCC.forward(px, py)
                distance = shapely.distance(shapely.Point(x, y), projected)
                rank, km = nearest.nearest(px, py)
                assert km == pytest.approx(distance.min(), abs=1e-12)
                # Equal to within a few units in the last place is a tie; a town 1e-15 to
                # 1e-12 km farther than the nearest is neither clearly tied nor clearly not.
                tied = np.unique(edge_town[distance <= distance.min() + 1e-15])
                if np.any(
                    (distance > distance.min() + 1e-15) & (distance <= distance.min() + 1e-12)
                ):
                    continue
                assert rank == tied.min()
                ties += tied.size > 1
    assert ties >= 20


def test_out_of_state_points_on_the_town_grid_get_the_nearest_town_the_full_search_gives():
    from despp.core.jurisdiction.index import Jurisdiction, JurisdictionIndex

    geometry = TownGeometry([TownShape(t.fips_2020, t.name, t.geometry) for t in _TOWNS])
    answers = [Jurisdiction(in_state=True, town=n, town_fips=f) for f, n in
               zip(geometry.fips, geometry.names, strict=True)]  # fmt: skip
    index = JurisdictionIndex(geometry, answers)
    grid = geometry.grid
    rng = np.random.default_rng(11)
    shore = shapely.get_coordinates(_GEOMETRIES)[rng.integers(0, len(_EDGES), 4000)]
    lons = np.r_[rng.uniform(-73.8, -71.7, 6000), shore[:, 0] + rng.normal(0, 2e-3, 4000)]
    lats = np.r_[rng.uniform(40.9, 42.1, 6000), shore[:, 1] + rng.normal(0, 2e-3, 4000)]
    outside = grid.towns_at(lons, lats) == OUTSIDE
    via_cell = 0
    for lon, lat in zip(lons[outside].tolist(), lats[outside].tolist(), strict=True):
        found = index.locate(lat, lon)
        rank, km = geometry.nearest().nearest(lon, lat)  # from the top of its own grid
        assert (found.in_state, found.nearest_town) == (False, geometry.names[rank])
        assert found.distance_km == pytest.approx(km, abs=0.0005)
        via_cell += grid.town_or_cell(lon, lat) <= -2  # on the town grid: found via its cell
    assert via_cell > 1500
