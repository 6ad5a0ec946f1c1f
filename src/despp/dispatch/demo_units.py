"""Demo units: enough apparatus and cars for the recommendation to mean something.

Development data only (called by dispatch/demo.py, which `despp load-demo` runs, refused in
production). The towns, their centroids, the troops and their barracks towns are the real
reference data; the fire departments, EMS agencies, stations and unit rosters are invented
for the demonstration (each such agency says so in its notes) and are not Connecticut's
actual apparatus.

- State Police: cars for every troop (more in the Eastern District, Troops C, D, E and K),
  a sergeant per eastern troop, K9 teams and two marine units; cars spread over the towns
  their troop polices (AVL fixes near those towns' centres), stations at the barracks towns.
- Municipal police: cars in a few big towns.
- Fire and EMS: a department and an ambulance service in sixteen eastern towns and six
  cities, with engines, ladders, rescues, tankers, brush trucks and ALS/BLS ambulances;
  their AVL positions are their stations'.

Idempotent: agencies, stations and units are matched by code, (agency, name) and call sign;
what exists is left as it is (a unit moved or put out of service stays so).
"""

import hashlib
import math
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from despp.core import jurisdiction
from despp.core.models import Agency, AgencyKind, Provenance, Town, Troop
from despp.core.reference.facts import own_pd_code, town_slug
from despp.dispatch.models import Capability, Station, Unit, UnitKind

K = UnitKind
C = Capability
DEMO_NOTE = "Demo data: invented for development and demonstrations; not a real roster."

# troop -> patrol cars (call signs C-111, C-112, ...)
TROOP_CARS: dict[str, int] = {
    "C": 6,
    "D": 6,
    "E": 6,
    "K": 6,
    "F": 4,
    "H": 4,
    "A": 2,
    "B": 2,
    "G": 2,
    "I": 2,
    "L": 2,
    "W": 2,
}
TROOP_SERGEANTS = ("C", "D", "E", "K")
# call sign, troop, capabilities
K9_TEAMS = (
    ("K9-C1", "C", (C.K9_TRACKING,)),
    ("K9-E1", "E", (C.K9_TRACKING, C.K9_NARCOTICS)),
    ("K9-K1", "K", (C.K9_NARCOTICS,)),
    ("K9-G1", "G", (C.K9_TRACKING,)),
    ("K9-I1", "I", (C.K9_NARCOTICS,)),
)
MARINE_UNITS = (("M-E1", "E"), ("M-F1", "F"))

# town -> (call sign prefix, patrol cars)
MUNICIPAL_POLICE: dict[str, tuple[str, int]] = {
    "Hartford": ("HPD", 6),
    "New Haven": ("NHPD", 6),
    "Bridgeport": ("BPD", 6),
    "Norwich": ("NPD", 3),
    "New London": ("NLPD", 3),
    "Vernon": ("VPD", 2),
    "Windham": ("WPD", 2),
    "Manchester": ("MPD", 2),
}


@dataclass(frozen=True)
class Roster:
    """A town's fire/EMS apparatus: counts per kind, and how many stations to spread over."""

    prefix: str
    engines: int = 1
    ladders: int = 0
    rescues: int = 0
    tankers: int = 0
    brush: int = 0
    chiefs: int = 0
    als: int = 0
    bls: int = 0
    stations: int = 1
    rescue_caps: tuple[str, ...] = (C.EXTRICATION,)


FIRE_EMS: dict[str, Roster] = {
    # Eastern District (Troops C, D, E, K) towns
    "Tolland": Roster("TOL", engines=2, rescues=1, tankers=1, als=1, bls=1),
    "Mansfield": Roster("MAN", engines=2, ladders=1, tankers=1, als=1, bls=1),
    "Ellington": Roster("ELL", engines=2, tankers=1, bls=1),
    "Stafford": Roster("STA", engines=2, tankers=1, bls=1),
    "Somers": Roster("SOM", engines=1, tankers=1, bls=1),
    "Killingly": Roster("KIL", engines=2, ladders=1, rescues=1, als=1, bls=1),
    "Thompson": Roster("THO", engines=1, tankers=1, bls=1),
    "Woodstock": Roster("WOO", engines=1, tankers=1, brush=1),
    "Montville": Roster(
        "MON", engines=2, rescues=1, als=1, bls=1, rescue_caps=(C.EXTRICATION, C.WATER_RESCUE)
    ),
    "East Lyme": Roster(
        "ELY",
        engines=2,
        ladders=1,
        rescues=1,
        als=1,
        bls=1,
        rescue_caps=(C.EXTRICATION, C.WATER_RESCUE),
    ),
    "Ledyard": Roster("LED", engines=2, tankers=1, bls=1),
    "Griswold": Roster("GRI", engines=1, tankers=1, bls=1),
    "Colchester": Roster("COL", engines=2, ladders=1, tankers=1, als=1, bls=1),
    "Hebron": Roster("HEB", engines=1, tankers=1, bls=1),
    "Lebanon": Roster("LEB", engines=1, tankers=1, brush=1),
    "East Haddam": Roster("EHD", engines=1, tankers=1, brush=1),
    # Cities
    "Hartford": Roster(
        "HFD",
        engines=4,
        ladders=2,
        rescues=1,
        chiefs=1,
        als=2,
        bls=2,
        stations=4,
        rescue_caps=(C.EXTRICATION, C.HAZMAT),
    ),
    "New Haven": Roster(
        "NHFD",
        engines=4,
        ladders=2,
        rescues=1,
        chiefs=1,
        als=2,
        bls=1,
        stations=4,
        rescue_caps=(C.EXTRICATION, C.HAZMAT, C.WATER_RESCUE),
    ),
    "Bridgeport": Roster(
        "BFD",
        engines=4,
        ladders=2,
        rescues=1,
        als=2,
        bls=1,
        stations=4,
        rescue_caps=(C.EXTRICATION, C.HAZMAT, C.WATER_RESCUE),
    ),
    "Norwich": Roster("NFD", engines=2, ladders=1, als=1, stations=2),
    "New London": Roster(
        "NLFD", engines=2, ladders=1, rescues=1, bls=1, rescue_caps=(C.WATER_RESCUE,)
    ),
    "Manchester": Roster("MFD", engines=2, ladders=1, als=1, stations=2),
}

_STATION_OFFSET_KM = 1.6


def _jitter(key: str, max_km: float) -> tuple[float, float]:
    """A fixed pseudo-random offset (north km, east km) per key, so reloads agree."""
    digest = hashlib.sha256(key.encode()).digest()
    angle = digest[0] / 255 * 2 * math.pi
    distance = (0.25 + 0.75 * digest[1] / 255) * max_km
    return distance * math.cos(angle), distance * math.sin(angle)


def _moved(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    return (
        lat + north_km / 111.2,
        lon + east_km / (111.2 * math.cos(math.radians(lat))),
    )


def _inside(town: Town, lat: float, lon: float) -> tuple[float, float]:
    """The point if it lies in `town`, else the town's centroid (no station in the sea)."""
    try:
        if jurisdiction.locate(lat, lon).town == town.name:
            return round(lat, 6), round(lon, 6)
    except jurisdiction.InvalidCoordinateError:
        pass
    return town.centroid_lat, town.centroid_lon


class _Loader:
    def __init__(self) -> None:
        self.now = timezone.now()
        self.created = {"agencies": 0, "stations": 0, "units": 0}
        self.kept_units = 0
        self.towns = {town.name: town for town in Town.objects.all()}

    def agency(self, code: str, name: str, kind: AgencyKind, town: Town) -> Agency:
        agency, made = Agency.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "town": town,
                "provenance": Provenance.UNKNOWN,
                "notes": DEMO_NOTE,
            },
        )
        self.created["agencies"] += made
        return agency

    def station(self, agency: Agency, name: str, town: Town, lat: float, lon: float) -> Station:
        station, made = Station.objects.get_or_create(
            agency=agency, name=name, defaults={"town": town, "lat": lat, "lon": lon}
        )
        self.created["stations"] += made
        return station

    def unit(
        self,
        call_sign: str,
        kind: str,
        agency: Agency,
        station: Station,
        capabilities: tuple[str, ...] = (),
        position: tuple[float, float] | None = None,
    ) -> None:
        lat, lon = position or (station.lat, station.lon)
        _, made = Unit.objects.get_or_create(
            call_sign=call_sign,
            defaults={
                "kind": kind,
                "agency": agency,
                "home_station": station,
                "capabilities": list(capabilities),
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "position_at": self.now,
            },
        )
        if made:
            self.created["units"] += 1
        else:
            self.kept_units += 1

    # --- State Police ---------------------------------------------------------------------

    def state_police(self) -> None:
        troops = {t.code: t for t in Troop.objects.select_related("agency", "barracks_town")}
        for code, cars in TROOP_CARS.items():
            troop = troops.get(code)
            if troop is None or troop.barracks_town is None:
                continue
            barracks = troop.barracks_town
            station = self.station(
                troop.agency,
                f"Troop {code} barracks ({troop.barracks_locality or barracks.name})",
                barracks,
                barracks.centroid_lat,
                barracks.centroid_lon,
            )
            patrol = list(
                Town.objects.filter(police_agency=troop.agency).order_by("-population")
            ) or [barracks]
            for n in range(cars):
                town = patrol[n % len(patrol)]
                call_sign = f"{code}-{111 + n}"
                north, east = _jitter(call_sign, 2.0)
                position = _inside(town, *_moved(town.centroid_lat, town.centroid_lon, north, east))
                caps = (C.AED, C.CRASH_RECON) if n == 0 else (C.AED,)
                self.unit(call_sign, K.TROOP_CAR, troop.agency, station, caps, position)
            if code in TROOP_SERGEANTS:
                self.unit(f"{code}-100", K.POLICE_SUPERVISOR, troop.agency, station, (C.AED,))
        for call_sign, code, caps in K9_TEAMS:
            troop = troops.get(code)
            if troop is not None and troop.barracks_town is not None:
                station = Station.objects.get(agency=troop.agency, name__startswith="Troop")
                self.unit(call_sign, K.K9, troop.agency, station, caps)
        for call_sign, code in MARINE_UNITS:
            troop = troops.get(code)
            if troop is not None and troop.barracks_town is not None:
                station = Station.objects.get(agency=troop.agency, name__startswith="Troop")
                self.unit(call_sign, K.MARINE, troop.agency, station, (C.BOAT, C.WATER_RESCUE))

    # --- municipal police -----------------------------------------------------------------

    def municipal_police(self) -> None:
        for name, (prefix, cars) in MUNICIPAL_POLICE.items():
            town = self.towns.get(name)
            agency = Agency.objects.filter(code=own_pd_code(name)).first()
            if town is None or agency is None:
                continue
            station = self.station(
                agency, f"{name} Police headquarters", town, town.centroid_lat, town.centroid_lon
            )
            for n in range(cars):
                call_sign = f"{prefix}-{21 + n}"
                north, east = _jitter(call_sign, 2.5)
                position = _inside(town, *_moved(station.lat, station.lon, north, east))
                self.unit(call_sign, K.POLICE_CAR, agency, station, (C.AED,), position)

    # --- fire and EMS ---------------------------------------------------------------------

    def fire_and_ems(self) -> None:
        for name, roster in FIRE_EMS.items():
            town = self.towns.get(name)
            if town is None:
                continue
            slug = town_slug(name)
            fire = self.agency(
                f"fd-{slug}", f"{name} Fire Department", AgencyKind.FIRE_DEPARTMENT, town
            )
            stations = [
                self._fire_station(fire, town, n, roster.stations) for n in range(roster.stations)
            ]
            apparatus: list[tuple[str, str, tuple[str, ...]]] = []
            for n in range(roster.engines):
                first_due: tuple[str, ...] = (C.AED, C.EXTRICATION) if n == 0 else (C.AED,)
                apparatus.append((f"E{n + 1}", K.ENGINE, first_due))
            apparatus += [(f"L{n + 1}", K.LADDER, (C.AERIAL,)) for n in range(roster.ladders)]
            apparatus += [
                (f"R{n + 1}", K.RESCUE, roster.rescue_caps) for n in range(roster.rescues)
            ]
            apparatus += [(f"T{n + 1}", K.TANKER, ()) for n in range(roster.tankers)]
            apparatus += [(f"B{n + 1}", K.BRUSH, ()) for n in range(roster.brush)]
            apparatus += [(f"C{n + 1}", K.FIRE_CHIEF, ()) for n in range(roster.chiefs)]
            for n, (suffix, kind, caps) in enumerate(apparatus):
                station = stations[n % len(stations)]
                self.unit(f"{roster.prefix}-{suffix}", kind, fire, station, caps)
            if roster.als or roster.bls:
                ems = self.agency(f"ems-{slug}", f"{name} Ambulance", AgencyKind.EMS, town)
                ems_stations = [
                    self.station(
                        ems, f"{name} Ambulance at {station.name}", town, station.lat, station.lon
                    )
                    for station in stations
                ]
                crews = [(f"M{n + 1}", K.ALS, (C.ALS, C.AED)) for n in range(roster.als)]
                crews += [(f"A{n + 1}", K.BLS, (C.BLS, C.AED)) for n in range(roster.bls)]
                for n, (suffix, kind, caps) in enumerate(crews):
                    station = ems_stations[n % len(ems_stations)]
                    self.unit(f"{roster.prefix}-{suffix}", kind, ems, station, caps)

    def _fire_station(self, fire: Agency, town: Town, n: int, of: int) -> Station:
        lat, lon = town.centroid_lat, town.centroid_lon
        if of > 1:  # spread a city's stations around its centre, each inside the town
            angle = 2 * math.pi * n / of + math.pi / 4
            north, east = math.cos(angle) * _STATION_OFFSET_KM, math.sin(angle) * _STATION_OFFSET_KM
            lat, lon = _inside(town, *_moved(lat, lon, north, east))
        return self.station(fire, f"{town.name} Fire Station {n + 1}", town, lat, lon)


def load_units() -> str:
    """Create the demo fire/EMS agencies, stations and units that do not exist yet."""
    with transaction.atomic():
        loader = _Loader()
        if not loader.towns:
            return "units: skipped (no reference towns; run `despp load-reference` first)"
        loader.state_police()
        loader.municipal_police()
        loader.fire_and_ems()
    made = loader.created
    return (
        f"units: {made['units']} created, {loader.kept_units} kept; "
        f"stations: {made['stations']} created; fire/EMS agencies: {made['agencies']} created"
    )
