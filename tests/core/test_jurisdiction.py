"""locate() and locate_many(): exact point-in-town answers, out-of-state answers with the
nearest town and distance, deterministic borders, refusal of bad coordinates, and a cache that
follows the reference data."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from despp.core import jurisdiction
from despp.core.jurisdiction import InvalidCoordinateError, ReferenceNotLoadedError
from despp.core.jurisdiction.index import TownGeometry, TownShape
from despp.core.models import ReferenceState, Town
from despp.core.reference import read_dataset

NEW_YORK = (40.7128, -74.0060)  # City Hall, Manhattan
PROVIDENCE = (41.8240, -71.4128)  # Rhode Island State House
LONG_ISLAND_SOUND = (41.15, -72.90)  # mid-Sound, south of New Haven
HARTFORD = (41.7658, -72.6734)


@pytest.fixture(scope="module")
def shapes() -> list[TownShape]:
    return [TownShape(t.fips_2020, t.name, t.geometry) for t in read_dataset().towns]


@pytest.fixture(scope="module")
def geometry(shapes) -> TownGeometry:
    return TownGeometry(shapes)


def exact_towns(shapes: list[TownShape], lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """The reference answer by plain GEOS: the lowest-FIPS town whose closed polygon covers the
    point (shapes are in FIPS order), -1 where none does."""
    ordered = sorted(shapes, key=lambda s: s.fips)
    tree = shapely.STRtree([s.geometry for s in ordered])
    point_index, town_index = tree.query(shapely.points(lons, lats), predicate="intersects")
    best = np.full(lons.size, np.iinfo(np.int64).max)
    np.minimum.at(best, point_index, town_index)
    return np.where(best == np.iinfo(np.int64).max, -1, best)


def reference_nearest(shapes: list[TownShape], lat: float, lon: float) -> tuple[str, float]:
    """Nearest town by haversine to its boundary densified to ~20 m: independent of the
    projection and the index the implementation uses."""
    best = (math.inf, "")
    for town in shapes:
        ring = shapely.segmentize(town.geometry.boundary, 0.0002)
        coords = shapely.get_coordinates(ring)
        p1, p2 = math.radians(lat), np.radians(coords[:, 1])
        a = (
            np.sin((p2 - p1) / 2) ** 2
            + math.cos(p1) * np.cos(p2) * np.sin(np.radians(coords[:, 0] - lon) / 2) ** 2
        )
        distance = float(2 * 6371.0088 * np.arcsin(np.sqrt(a.min())))
        best = min(best, (distance, town.name))
    return best[1], best[0]


def _vertices(shapes: list[TownShape]) -> list[tuple[float, float]]:
    coords = shapely.get_coordinates([s.geometry for s in shapes])
    return [(float(x), float(y)) for x, y in np.unique(coords, axis=0)]


# ---- exactness against GEOS --------------------------------------------------------------------

_VERTICES = _vertices([TownShape(t.fips_2020, t.name, t.geometry) for t in read_dataset().towns])
_any_point = st.tuples(
    st.floats(min_value=-73.8, max_value=-71.7), st.floats(min_value=40.9, max_value=42.1)
)
_on_vertex = st.sampled_from(_VERTICES)
_near_vertex = st.tuples(_on_vertex, st.floats(-1e-6, 1e-6), st.floats(-1e-6, 1e-6)).map(
    lambda v: (v[0][0] + v[1], v[0][1] + v[2])
)
_points = st.lists(st.one_of(_any_point, _on_vertex, _near_vertex), min_size=1, max_size=200)


@settings(max_examples=150, deadline=None)
@given(points=_points)
def test_locate_many_agrees_with_geos_point_in_polygon_for_any_point(geometry, shapes, points):
    lons = np.array([p[0] for p in points])
    lats = np.array([p[1] for p in points])
    expected = exact_towns(shapes, lons, lats)
    assert geometry.grid.towns_at(lons, lats).tolist() == expected.tolist()
    singles = [geometry.grid.town_at(lon, lat) for lon, lat in zip(lons, lats, strict=True)]
    assert singles == expected.tolist()


def test_a_large_batch_split_across_threads_agrees_with_geos(geometry, shapes):
    rng = np.random.default_rng(20261127)
    lons = rng.uniform(-73.8, -71.7, 300_000)
    lats = rng.uniform(40.9, 42.1, 300_000)
    found = geometry.grid.towns_at(lons, lats)
    assert np.array_equal(found, exact_towns(shapes, lons, lats))
    assert 0.5 < (found >= 0).mean() < 0.8  # the state covers about two-thirds of its bbox


def test_a_point_on_a_shared_border_goes_to_the_lower_fips_town_every_time(geometry, shapes):
    hartford = next(s for s in shapes if s.name == "Hartford")
    west_hartford = next(s for s in shapes if s.name == "West Hartford")
    border = hartford.geometry.boundary.intersection(west_hartford.geometry.boundary)
    lon, lat = shapely.get_coordinates(border)[0]
    assert hartford.geometry.covers(shapely.Point(lon, lat))
    assert west_hartford.geometry.covers(shapely.Point(lon, lat))
    lower = min(hartford, west_hartford, key=lambda s: s.fips)

    answers = {geometry.names[geometry.grid.town_at(lon, lat)] for _ in range(3)}
    batch = geometry.grid.towns_at(np.array([lon] * 3), np.array([lat] * 3))

    assert answers == {lower.name}
    assert {geometry.names[i] for i in batch} == {lower.name}


# ---- nearest town for points outside every polygon ---------------------------------------------


@pytest.mark.parametrize(
    ("point", "nearest_town", "km_range"),
    [
        (NEW_YORK, "Greenwich", (35, 50)),
        (PROVIDENCE, None, (25, 40)),
        (LONG_ISLAND_SOUND, None, (3, 25)),
    ],
)
def test_out_of_state_points_get_the_nearest_town_and_its_distance(
    geometry, shapes, point, nearest_town, km_range
):
    from despp.core.jurisdiction.index import Jurisdiction, JurisdictionIndex

    answers = [Jurisdiction(in_state=True, town=n, town_fips=f) for f, n in
               zip(geometry.fips, geometry.names, strict=True)]  # fmt: skip
    index = JurisdictionIndex(geometry, answers)
    found = index.locate(*point)
    expected_town, expected_km = reference_nearest(shapes, *point)

    assert not found.in_state and found.town is None
    assert found.nearest_town == expected_town
    assert found.nearest_town == (nearest_town or expected_town)
    assert km_range[0] < found.distance_km < km_range[1]
    assert found.distance_km == pytest.approx(expected_km, rel=0.005, abs=0.05)


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(min_value=-74.5, max_value=-71.0),
    lat=st.floats(min_value=40.4, max_value=42.6),
)
def test_the_nearest_town_agrees_with_a_brute_force_haversine_search(geometry, shapes, lon, lat):
    if geometry.grid.town_at(lon, lat) != -1:
        return  # in state: no nearest-town answer to check
    rank, km = geometry.nearest().nearest(lon, lat)
    expected_town, expected_km = reference_nearest(shapes, lat, lon)
    assert km == pytest.approx(expected_km, rel=0.005, abs=0.05)
    if geometry.names[rank] != expected_town:  # only a near-tie may differ
        other = next(s for s in shapes if s.name == expected_town)
        ours = next(s for s in shapes if s.name == geometry.names[rank])
        gap = abs(reference_nearest([ours], lat, lon)[1] - reference_nearest([other], lat, lon)[1])
        assert gap < 0.05


def test_the_nearest_town_equals_a_search_over_every_edge_in_the_same_projection(geometry):
    from despp.core.jurisdiction.nearest import CONNECTICUT_LCC

    # Every edge of every town, projected as the index projects them, searched by GEOS.
    parts, part_town = shapely.get_parts(geometry.grid.geometries, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    x, y = CONNECTICUT_LCC.forward_many(coords[:, 0], coords[:, 1])
    start = np.flatnonzero(ring_of[1:] == ring_of[:-1])
    a = np.stack([x[start], y[start]], 1)
    b = np.stack([x[start + 1], y[start + 1]], 1)
    edges = shapely.linestrings(np.stack([a, b], 1))
    edge_town = part_town[ring_part[ring_of[start]]]
    # Out-of-state points across the near-state grid, and within ~100 m of the shore, where
    # cells hold the most edges and are split into sub-cells.
    rng = np.random.default_rng(7)
    vertices = shapely.get_coordinates(geometry.grid.geometries)
    pick = rng.integers(0, len(vertices), 6000)
    lons = np.r_[rng.uniform(-74.1, -71.4, 6000), vertices[pick, 0] + rng.normal(0, 1e-3, 6000)]
    lats = np.r_[rng.uniform(40.6, 42.4, 6000), vertices[pick, 1] + rng.normal(0, 1e-3, 6000)]
    outside = geometry.grid.towns_at(lons, lats) == -1
    lons, lats = lons[outside], lats[outside]
    px, py = CONNECTICUT_LCC.forward_many(lons, lats)
    (point, edge), distance = shapely.STRtree(edges).query_nearest(
        shapely.points(px, py), return_distance=True, all_matches=True
    )
    nearest = geometry.nearest()
    assert lons.size > 3000
    for k, (lon, lat) in enumerate(zip(lons.tolist(), lats.tolist(), strict=True)):
        rank, km = nearest.nearest(lon, lat)
        expected_km = float(distance[point == k].min())
        expected_rank = int(edge_town[edge[point == k]].min())  # ties: the lowest rank
        assert km == pytest.approx(expected_km, abs=1e-9)
        if rank != expected_rank:  # only a tie to within rounding may differ
            ours = edges[edge_town == rank]
            ours_km = shapely.distance(shapely.Point(px[k], py[k]), ours).min()
            assert ours_km == pytest.approx(expected_km, abs=1e-9)


def test_asked_directly_about_an_inland_point_nearest_measures_to_the_nearest_border(
    geometry, shapes
):
    hartford = next(s for s in shapes if s.name == "Hartford")
    centre = hartford.geometry.representative_point()
    rank, km = geometry.nearest().nearest(centre.x, centre.y)
    _, expected_km = reference_nearest(shapes, centre.y, centre.x)
    assert km == pytest.approx(expected_km, rel=0.005)
    town = next(s for s in shapes if s.name == geometry.names[rank])
    assert reference_nearest([town], centre.y, centre.x)[1] == pytest.approx(km, rel=0.005)


def test_a_point_far_from_the_state_still_gets_a_nearest_town(geometry):
    rank, km = geometry.nearest().nearest(2.3522, 48.8566)  # Paris
    assert 5_400 < km < 5_800
    assert geometry.names[rank]


# ---- through the database-backed cache ---------------------------------------------------------


def test_each_town_centroid_locates_to_that_town(reference_data):
    towns = list(Town.objects.order_by("fips_2020").values_list("name", "centroid_lat",
                                                                "centroid_lon"))  # fmt: skip
    for name, lat, lon in towns:
        found = jurisdiction.locate(lat, lon)
        assert (found.in_state, found.town) == (True, name)
    ranks = jurisdiction.locate_many([t[1] for t in towns], [t[2] for t in towns])
    index = jurisdiction.get_index()
    assert [index.towns[r].town for r in ranks] == [t[0] for t in towns]


def test_a_point_in_hartford_gets_its_county_troop_agency_psap_and_their_provenance(
    reference_data,
):
    found = jurisdiction.locate(*HARTFORD)
    town = reference_data.town("Hartford")
    assert found.in_state
    assert (found.town, found.county, found.town_fips) == ("Hartford", "Hartford", "0900337070")
    assert (found.troop, found.troop_provenance) == (town.troop.code, "inferred")
    assert (found.police_agency, found.police_agency_provenance) == ("pd-hartford", "sourced")
    assert (found.psap, found.psap_provenance) == ("psap-hartford-pd", "derived")
    assert found.police_agency_id == town.police_agency_id and found.town_id == town.pk
    assert found.nearest_town is None and found.distance_km is None


@pytest.mark.parametrize("where", [NEW_YORK, PROVIDENCE, LONG_ISLAND_SOUND])
def test_new_york_providence_and_the_sound_are_out_of_state(reference_data, where):
    found = jurisdiction.locate(*where)
    assert found.in_state is False
    assert found.town is None and found.troop is None and found.psap is None
    assert found.nearest_town in set(Town.objects.values_list("name", flat=True))
    assert found.distance_km > 1


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (math.nan, -72.6, "lat"),
        (41.7, math.inf, "lon"),
        (41.7, -math.inf, "lon"),
        (90.0001, -72.6, "lat"),
        (-91, -72.6, "lat"),
        (41.7, 180.5, "lon"),
        ("north", -72.6, "lat"),
        (41.7, None, "lon"),
        (True, -72.6, "lat"),
    ],
)
def test_bad_coordinates_raise_a_value_error_naming_the_field(lat, lon, field):
    with pytest.raises(InvalidCoordinateError) as caught:
        jurisdiction.locate(lat, lon)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{field}:")


def test_a_batch_with_one_bad_coordinate_names_the_field_and_position():
    lats = np.array([41.7, 41.8, np.nan])
    with pytest.raises(InvalidCoordinateError, match=r"lat\[2\]") as caught:
        jurisdiction.locate_many(lats, np.array([-72.6, -72.7, -72.8]))
    assert caught.value.field == "lat"
    with pytest.raises(InvalidCoordinateError, match="shape") as caught:
        jurisdiction.locate_many([41.7, 41.8], [-72.6])
    assert caught.value.field == "lon"


def test_a_built_index_answers_without_querying_the_database(
    reference_data, django_assert_num_queries
):
    jurisdiction.locate(*HARTFORD)
    with django_assert_num_queries(0):
        for _ in range(100):
            jurisdiction.locate(*HARTFORD)
        jurisdiction.locate_many(np.array([41.7] * 10), np.array([-72.6] * 10))


def test_the_cache_follows_a_revision_made_by_another_process(reference_data, monkeypatch):
    avon = reference_data.town("Avon")
    before = jurisdiction.locate(avon.centroid_lat, avon.centroid_lon)
    # Another process corrects Avon's troop and bumps the revision; this process has not been
    # told, so it finds out at its next revision check.
    Town.objects.filter(pk=avon.pk).update(troop=reference_data.troop("W"))
    state = ReferenceState.objects.get()
    ReferenceState.objects.filter(pk=state.pk).update(revision=state.revision + 1)
    assert jurisdiction.locate(avon.centroid_lat, avon.centroid_lon) == before  # still cached

    later = jurisdiction._clock() + jurisdiction.RECHECK_SECONDS + 0.1
    monkeypatch.setattr(jurisdiction, "_clock", lambda: later)

    assert jurisdiction.locate(avon.centroid_lat, avon.centroid_lon).troop == "W"


def test_without_reference_data_locate_says_to_load_it(reference_data):
    ReferenceState.objects.all().delete()
    jurisdiction.invalidate()
    with pytest.raises(ReferenceNotLoadedError, match="despp load-reference"):
        jurisdiction.locate(*HARTFORD)


@pytest.mark.django_db
def test_warming_without_reference_data_reports_it_instead_of_failing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jurisdiction.invalidate()
    assert jurisdiction.warm() is False
    assert "load-reference" in caplog.text


def test_warming_builds_the_index_so_later_calls_find_it_ready(reference_data) -> None:
    assert jurisdiction.warm() is True
    assert jurisdiction.get_index().locate_checked(41.7637, -72.6851).town == "Hartford"
