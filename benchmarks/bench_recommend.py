"""Recommendation of a whole response plan over 5,000 units, in process, beside PostGIS.

The fleet is synthetic but placed on the real map: 5,000 units spread over Connecticut's towns
by population (each town gets a police agency, a fire department and an EMS service; the units
sit near the town's centre), of every kind in the proportions of a real fleet, with 15 %
committed to other incidents, 5 % out of service and a few in emergency. Each incident is a
point in a town chosen by population; the plan is the shipped structure-fire first alarm
(3 engines, a ladder with an aerial, a rescue, an ALS unit, a patrol car: five lines, five
unit kinds), filled primary agency first with every explanation built.

Target (issue 3): p99 under 300 µs per recommendation. For scale, in the same run: a PostGIS
nearest-neighbour query for ONE unit type (`ORDER BY geom <-> point LIMIT 3`, GiST index) over
the same units, and a bare numpy distance scan for one type.

Environment: DESPP_BENCH_UNITS (default 5,000), DESPP_BENCH_INCIDENTS (default 20,000),
DESPP_BENCH_PG_URL (the scratch PostGIS database is created beside it, as for bench_locate).
"""

import gc
import math
import os
import statistics
import time

import numpy as np

from benchmarks.bench_locate import _postgis_connect

KIND_SHARE = {
    "troop_car": 0.14,
    "police_car": 0.24,
    "police_supervisor": 0.03,
    "k9": 0.01,
    "marine": 0.005,
    "engine": 0.22,
    "ladder": 0.05,
    "rescue": 0.03,
    "tanker": 0.05,
    "brush": 0.02,
    "fire_chief": 0.015,
    "als": 0.08,
    "bls": 0.08,
    "ems_supervisor": 0.01,
}
CAPS = {
    "engine": ("aed", "extrication"),
    "ladder": ("aerial",),
    "rescue": ("extrication", "hazmat", "water_rescue"),
    "als": ("als", "aed"),
    "bls": ("bls", "aed"),
}


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "despp.settings")
    import django

    django.setup()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _world(units: int, incidents: int, seed: int = 7):  # type: ignore[no-untyped-def]
    from despp.core.reference import read_dataset
    from despp.dispatch.recommend import UnitRow, build_fleet

    rng = np.random.default_rng(seed)
    towns = read_dataset().towns
    weights = np.array([t.population for t in towns], dtype=float)
    weights /= weights.sum()
    kinds = list(KIND_SHARE)
    shares = np.array([KIND_SHARE[k] for k in kinds])
    shares /= shares.sum()

    def scatter(town_index: int, km: float) -> tuple[float, float]:
        town = towns[town_index]
        angle, dist = rng.uniform(0, 2 * math.pi), rng.uniform(0, km)
        lat = town.centroid_lat + dist * math.cos(angle) / 111.2
        lon = town.centroid_lon + dist * math.sin(angle) / (
            111.2 * math.cos(math.radians(town.centroid_lat))
        )
        return lat, lon

    rows = []
    home = rng.choice(len(towns), size=units, p=weights)
    kind_of = rng.choice(len(kinds), size=units, p=shares)
    state = rng.uniform(size=units)
    for n in range(units):
        town = int(home[n])
        kind = kinds[kind_of[n]]
        discipline = {"engine": 1, "ladder": 1, "rescue": 1, "tanker": 1, "brush": 1}.get(
            kind, 2 if kind in ("als", "bls", "ems_supervisor") else 0
        )
        if kind == "fire_chief":
            discipline = 1
        agency = town * 3 + discipline  # police, fire, EMS agency per town
        lat, lon = scatter(town, 3.0)
        caps = [c for c in CAPS.get(kind, ()) if rng.uniform() < 0.7]
        rows.append(
            UnitRow(
                id=n + 1,
                call_sign=f"U{n + 1}",
                kind=kind,
                agency_id=agency,
                agency_code=f"agency-{agency}",
                agency_name=f"Agency {agency}",
                capabilities=caps,
                in_service=state[n] >= 0.05,
                emergency=0.05 <= state[n] < 0.052,
                lat=lat,
                lon=lon,
                position_source="avl",
                committed_to=(1, "26-000001") if 0.052 <= state[n] < 0.20 else None,
            )
        )
    points = []
    for town in rng.choice(len(towns), size=incidents, p=weights):
        lat, lon = scatter(int(town), 2.0)
        points.append((lat, lon, int(town)))
    return build_fleet(rows), rows, points


def _time_recommendations(fleet, points) -> list[float]:  # type: ignore[no-untyped-def]
    from despp.dispatch.plans import RUN_CARDS
    from despp.dispatch.recommend import LineSpec, PlanSpec, recommend_plan

    name, card = RUN_CARDS["FSTRU"]
    plan = PlanSpec(
        name, "statewide", tuple(LineSpec(x.kinds, x.count, x.capability) for x in card)
    )
    timings = []
    gc.disable()
    try:
        for lat, lon, town in points:
            primary = {"police": [town * 3], "fire": [town * 3 + 1], "ems": [town * 3 + 2]}
            start = time.perf_counter_ns()
            found = recommend_plan(fleet, plan, lat, lon, primary_agency_ids=primary)
            timings.append((time.perf_counter_ns() - start) / 1000)
            assert found.lines and found.model
    finally:
        gc.enable()
    return timings


def _numpy_scan(fleet, points) -> list[float]:  # type: ignore[no-untyped-def]
    """Haversine from the point to every engine, then the 3 nearest: the bare floor."""
    from despp.dispatch.eta import great_circle_km_many

    engines = [row for row in fleet.rows if row.kind == "engine" and row.lat is not None]
    lat_rad = np.radians(np.array([row.lat for row in engines]))
    lon_rad = np.radians(np.array([row.lon for row in engines]))
    cos_lat = np.cos(lat_rad)
    timings = []
    for lat, lon, _ in points:
        start = time.perf_counter_ns()
        distance = great_circle_km_many(lat_rad, lon_rad, cos_lat, lat, lon)
        np.argpartition(distance, 3)[:3]
        timings.append((time.perf_counter_ns() - start) / 1000)
    return timings


def _postgis(rows, points) -> list[float] | str:  # type: ignore[no-untyped-def]
    try:
        connection = _postgis_connect()
    except Exception as exc:  # the comparison is optional; say why it is missing
        return f"skipped ({exc})"
    with connection:
        connection.execute("DROP TABLE IF EXISTS bench_units")
        connection.execute(
            "CREATE TABLE bench_units (id int PRIMARY KEY, kind text NOT NULL, "
            "geom geometry(Point, 4326) NOT NULL)"
        )
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO bench_units VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                [(row.id, row.kind, row.lon, row.lat) for row in rows],
            )
        connection.execute("CREATE INDEX bench_units_geom ON bench_units USING gist (geom)")
        connection.execute("ANALYZE bench_units")
        query = (
            "SELECT id FROM bench_units WHERE kind = 'engine' "
            "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 3"
        )
        timings = []
        with connection.cursor() as cursor:
            for lat, lon, _ in points[:200]:  # warm-up (and server-side prepare)
                cursor.execute(query, (lon, lat), prepare=True).fetchall()
            for lat, lon, _ in points:
                start = time.perf_counter_ns()
                cursor.execute(query, (lon, lat), prepare=True).fetchall()
                timings.append((time.perf_counter_ns() - start) / 1000)
        connection.execute("DROP TABLE bench_units")
    return timings


def _line(label: str, timings: list[float]) -> str:
    return (
        f"  {label}: p50 {statistics.median(timings):.0f} µs, "
        f"p99 {_percentile(timings, 0.99):.0f} µs, max {max(timings):.0f} µs "
        f"({len(timings):,} runs)"
    )


def main() -> None:
    _setup_django()
    units = int(os.environ.get("DESPP_BENCH_UNITS", "5000"))
    incidents = int(os.environ.get("DESPP_BENCH_INCIDENTS", "20000"))
    fleet, rows, points = _world(units, incidents)
    print(f"{len(fleet):,} units, {len(points):,} incidents; plan: structure fire first alarm")
    _time_recommendations(fleet, points[:500])  # warm-up
    timings = _time_recommendations(fleet, points)
    p99 = _percentile(timings, 0.99)
    print(_line("recommend_plan (5 lines, explanations)", timings))
    print(f"  target p99 < 300 µs: {'met' if p99 < 300 else 'MISSED'}")
    scan = _numpy_scan(fleet, points)
    print(_line("bare numpy distance scan, one type", scan))
    postgis = _postgis(rows, points[:5000])
    if isinstance(postgis, str):
        print(f"  PostGIS nearest-neighbour: {postgis}")
        return
    print(_line("PostGIS ORDER BY geom <-> point LIMIT 3, one type", postgis))
    print(
        f"  ratio: whole-plan recommendation p99 / PostGIS one-type p99 = "
        f"{p99 / _percentile(postgis, 0.99):.2f}"
    )


if __name__ == "__main__":
    main()
