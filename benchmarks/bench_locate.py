"""locate(): batch rate and single-point latency, side by side with PostGIS ST_Contains.

Built from the data shipped in the package (no migrated database needed): the same town
polygons go into the jurisdiction index and into a scratch PostGIS database (`despp_bench_geo`
on the local PostgreSQL, GiST index), the same points are located by both, and every point
where the two disagree is counted (the target is 0). Two point sets of N each: uniform over the
state's bounding box (about a third fall outside every town: other states, Long Island Sound),
and a mix weighted to where people live (town chosen by population, point scattered around its
centroid).

Targets (issue 2): batch >= 2,000,000 points/s on 2 cores; single point p99 < 10 µs over the
whole point mix (in state and out of state alike), printed for in-state points, out-of-state
points and overall, pooling every call of SINGLE_PASSES passes (no pass is picked).

Environment: DESPP_BENCH_POINTS (default 1,000,000), DESPP_BENCH_PG_URL (default
postgres://postgres@127.0.0.1:5432/postgres; the scratch database is created beside it).
"""

import gc
import os
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass

import numpy as np
import shapely

BENCH_DB = "despp_bench_geo"
SINGLE_POINTS = 200_000
SINGLE_PASSES = 3  # passes over the single points; percentiles pool every call of every pass
BATCH_REPEATS = 5
TARGET_P99_US = 10.0


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "despp.settings")
    import django

    django.setup()


@dataclass(frozen=True)
class PointSet:
    name: str
    lats: np.ndarray
    lons: np.ndarray


def _build_index():  # type: ignore[no-untyped-def]
    from despp.core.jurisdiction.index import (
        Jurisdiction,
        JurisdictionIndex,
        TownGeometry,
        TownShape,
    )
    from despp.core.reference import read_dataset
    from despp.core.reference.facts import derive_police_agency, derive_psap, sources_of
    from despp.core.reference.rules import build_plan

    dataset = read_dataset()
    plan = build_plan(dataset)
    names = plan.agency_names()
    dispatch = {code: spec.dispatch for code, spec in plan.troops.items()}
    answers = []
    for spec in plan.towns:  # the loader's answers, without a database
        agency = derive_police_agency(spec.policing, spec.troop, spec.own_pd, names)
        psap = derive_psap(
            policing=spec.policing,
            troop=spec.troop,
            troop_sources=sources_of(spec.policing_row.troop_sources),
            own_pd_psap=spec.own_pd_psap,
            sourced_psap=spec.sourced_psap,
            dispatch=dispatch,
            agency_names=names,
        )
        answers.append(
            Jurisdiction(
                in_state=True,
                town=spec.row.name,
                town_fips=spec.row.fips_2020,
                county=spec.row.county,
                troop=spec.troop.value,
                troop_provenance=spec.troop.provenance,
                policing=spec.policing.value,
                policing_provenance=spec.policing.provenance,
                police_agency=agency.value,
                police_agency_name=names[agency.value],
                police_agency_provenance=agency.provenance,
                psap=psap.value,
                psap_name=names[psap.value],
                psap_provenance=psap.provenance,
            )
        )
    shapes = [TownShape(t.fips_2020, t.name, t.geometry) for t in dataset.towns]
    started = time.perf_counter()
    geometry = TownGeometry(shapes)
    grid_seconds = time.perf_counter() - started
    started = time.perf_counter()
    geometry.warm()
    nearest_seconds = time.perf_counter() - started
    index = JurisdictionIndex(geometry, answers)
    return index, dataset, grid_seconds, nearest_seconds


def _point_sets(dataset, n: int) -> list[PointSet]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(20261127)
    minx, miny, maxx, maxy = shapely.total_bounds([t.geometry for t in dataset.towns])
    uniform = PointSet(
        "uniform over the bbox", rng.uniform(miny, maxy, n), rng.uniform(minx, maxx, n)
    )
    population = np.array([t.population for t in dataset.towns], dtype=float)
    towns = rng.choice(len(dataset.towns), size=n, p=population / population.sum())
    lat0 = np.array([t.centroid_lat for t in dataset.towns])[towns]
    lon0 = np.array([t.centroid_lon for t in dataset.towns])[towns]
    # Scatter by the town's own size (sqrt of its land area), so some points land in neighbours.
    spread_km = np.sqrt(np.array([t.land_area_m2 for t in dataset.towns]) / 1e6)[towns] / 3
    lats = lat0 + rng.normal(0, 1, n) * spread_km / 111.0
    lons = lon0 + rng.normal(0, 1, n) * spread_km / (111.0 * np.cos(np.radians(lat0)))
    return [uniform, PointSet("weighted to towns by population", lats, lons)]


def _batch_rate(index, points: PointSet, threads: bool) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    grid = index.geometry.grid
    run = index.locate_many if threads else (lambda la, lo: grid._towns_at(lo, la))
    run(points.lats[:1000], points.lons[:1000])
    seconds = []
    for _ in range(BATCH_REPEATS):
        started = time.perf_counter()
        found = run(points.lats, points.lons)
        seconds.append(time.perf_counter() - started)
    return points.lats.size / statistics.median(seconds), found


def _single_latencies(index, points: PointSet, found: np.ndarray) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Microseconds per locate() call, every call of SINGLE_PASSES passes over the points."""
    lats = points.lats[:SINGLE_POINTS].tolist()
    lons = points.lons[:SINGLE_POINTS].tolist()
    locate = index.locate
    clock = time.perf_counter_ns
    for lat, lon in zip(lats[:2000], lons[:2000], strict=True):
        locate(lat, lon)  # warm caches and branch predictors
    timings = np.empty((SINGLE_PASSES, len(lats)))
    for row in timings:
        for i, (lat, lon) in enumerate(zip(lats, lons, strict=True)):
            started = clock()
            locate(lat, lon)
            row[i] = clock() - started
    inside = np.broadcast_to(found[: len(lats)] >= 0, timings.shape)
    return {"overall": timings.ravel() / 1000, "in state": timings[inside] / 1000,
            "out of state": timings[~inside] / 1000}  # fmt: skip


# ---- PostGIS -----------------------------------------------------------------------------------


def _pg_url() -> str:
    return os.environ.get("DESPP_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _ensure_postgis(connection) -> None:  # type: ignore[no-untyped-def]
    available = connection.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
    ).fetchone()
    if available:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError("the postgis extension is not installed (postgresql-15-postgis-3)")
    print("installing postgresql-15-postgis-3 ...", flush=True)
    apt = ["apt-get", "install", "-y", "postgresql-15-postgis-3"]
    if subprocess.run(apt, check=False).returncode != 0:  # noqa: S603
        subprocess.run(["apt-get", "update"], check=True)  # noqa: S607
        subprocess.run(apt, check=True)  # noqa: S603


def _postgis_connect():  # type: ignore[no-untyped-def]
    import psycopg
    from psycopg import sql

    admin_url = _pg_url()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        _ensure_postgis(admin)
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]
        ).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
    bench_url = admin_url.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    connection = psycopg.connect(bench_url, autocommit=True)
    connection.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return connection


def _postgis_load_towns(connection, index, dataset) -> None:  # type: ignore[no-untyped-def]
    import json

    connection.execute("DROP TABLE IF EXISTS bench_towns")
    connection.execute(
        "CREATE TABLE bench_towns (rank int PRIMARY KEY, fips text, "
        "geom geometry(MultiPolygon, 4326) NOT NULL)"
    )
    boundary = {t.fips_2020: t.boundary for t in dataset.towns}
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_towns VALUES (%s, %s, "
            "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)))",
            [
                (rank, fips, json.dumps(boundary[fips]))
                for rank, fips in enumerate(index.geometry.fips)
            ],
        )
    connection.execute("CREATE INDEX bench_towns_geom ON bench_towns USING gist (geom)")
    connection.execute("ANALYZE bench_towns")


def _postgis_locate(connection, points: PointSet) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    connection.execute("DROP TABLE IF EXISTS bench_points")
    connection.execute("CREATE UNLOGGED TABLE bench_points (id int, lon float8, lat float8)")
    with (
        connection.cursor() as cursor,
        cursor.copy("COPY bench_points (id, lon, lat) FROM STDIN") as copy,
    ):
        for i, (lon, lat) in enumerate(zip(points.lons.tolist(), points.lats.tolist(),
                                           strict=True)):  # fmt: skip
            copy.write_row((i, lon, lat))
    connection.execute(
        "ALTER TABLE bench_points ADD COLUMN geom geometry(Point, 4326) "
        "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
    )
    connection.execute("ANALYZE bench_points")
    # Same tie rule as the index: the lowest-ranked town if several polygons contain a point.
    query = (
        "SELECT p.id, min(t.rank) FROM bench_points p "
        "JOIN bench_towns t ON ST_Contains(t.geom, p.geom) GROUP BY p.id"
    )
    started = time.perf_counter()
    rows = connection.execute(query).fetchall()
    seconds = time.perf_counter() - started
    answer = np.full(points.lats.size, -1, dtype=np.int64)
    if rows:
        ids, ranks = np.array(rows, dtype=np.int64).T
        answer[ids] = ranks
    return points.lats.size / seconds, answer


def main() -> None:
    _setup_django()
    n = int(os.environ.get("DESPP_BENCH_POINTS", "1000000"))
    index, dataset, grid_seconds, nearest_seconds = _build_index()
    grid = index.geometry.grid
    nearest = index.geometry.nearest()
    print(
        f"index: {len(index.towns)} towns, grid {grid.nx}x{grid.ny} cells of 1/"
        f"{grid.cells_per_degree:g} degree, {grid.boundary_cells.size} boundary cells; "
        f"built in {grid_seconds:.2f} s (+ {nearest_seconds:.2f} s nearest-town structure); "
        f"memory {grid.nbytes / 1e6:.1f} MB grid + {nearest.nbytes / 1e6:.1f} MB nearest-town"
    )
    point_sets = _point_sets(dataset, n)
    results = {}
    for points in point_sets:
        rate, found = _batch_rate(index, points, threads=True)
        rate_one, _ = _batch_rate(index, points, threads=False)
        gc.collect()
        latency = _single_latencies(index, points, found)
        results[points.name] = (rate, found)
        print(f"\n{points.name}: {n:,} points, {np.mean(found >= 0):.1%} in state")
        print(f"  locate_many: {rate / 1e6:6.2f} M points/s on 2 threads "
              f"({rate_one / 1e6:.2f} M/s on one)   target >= 2.00 M/s")  # fmt: skip
        for label, values in latency.items():
            if values.size:
                p50, p99, p999 = np.percentile(values, [50, 99, 99.9])
                print(f"  locate() {label:>12}: p50 {p50:5.2f} µs  p99 {p99:5.2f} µs  "
                      f"p99.9 {p999:6.2f} µs  ({values.size:,} calls)")  # fmt: skip
        p99 = float(np.percentile(latency["overall"], 99))
        verdict = "met" if p99 < TARGET_P99_US else "NOT met"
        print(f"  single-point target: p99 < {TARGET_P99_US:g} µs over all points: {verdict} "
              f"(p99 {p99:.2f} µs, {SINGLE_PASSES} passes of {SINGLE_POINTS:,})")  # fmt: skip

    print("\nPostGIS ST_Contains (GiST index) over the same polygons and points:")
    try:
        connection = _postgis_connect()
    except Exception as exc:
        print(f"  skipped: {exc}")
        return
    with connection:
        _postgis_load_towns(connection, index, dataset)
        for points in point_sets:
            rate, found = results[points.name]
            pg_rate, pg_found = _postgis_locate(connection, points)
            differ = int(np.count_nonzero(pg_found != found))
            print(f"  {points.name}: PostGIS {pg_rate / 1e6:.3f} M points/s, index "
                  f"{rate / 1e6:.2f} M points/s, ratio {rate / pg_rate:.0f}x; "
                  f"points whose answers differ: {differ}")  # fmt: skip
        connection.execute("DROP TABLE IF EXISTS bench_points")


if __name__ == "__main__":
    main()
