"""The jurisdiction index: town polygons (exact grid + nearest-town structure) and, per town,
a ready-made answer (county, troop, police agency, PSAP and how each was obtained).

Nothing here reads the database: the index is built from plain town records, so the same
code serves the process-wide cache (built from the Town rows) and the benchmark (built from
the shipped files).
"""

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from despp.core.jurisdiction.grid import OUTSIDE, TownGrid
from despp.core.jurisdiction.nearest import NearestTown

_new_tuple = tuple.__new__  # Jurisdiction._make without its length check (lengths are fixed)
_floor = math.floor
_isfinite = math.isfinite


class InvalidCoordinateError(ValueError):
    """A latitude or longitude that is not a finite number in range; `field` names which."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Jurisdiction(NamedTuple):
    """Who answers for a point. In-state answers carry the town's facts with the provenance of
    each; out-of-state answers carry the nearest town and the distance to its boundary.

    Immutable (in-state answers are shared by every caller) and a NamedTuple because it is
    built twice as fast as a frozen dataclass: out-of-state answers are built per call.
    """

    in_state: bool
    town: str | None = None
    town_fips: str | None = None
    county: str | None = None
    troop: str | None = None
    troop_provenance: str | None = None
    policing: str | None = None
    policing_provenance: str | None = None
    police_agency: str | None = None
    police_agency_name: str | None = None
    police_agency_provenance: str | None = None
    psap: str | None = None
    psap_name: str | None = None
    psap_provenance: str | None = None
    town_id: int | None = None
    police_agency_id: int | None = None
    psap_id: int | None = None
    nearest_town: str | None = None
    nearest_town_fips: str | None = None
    distance_km: float | None = None


@dataclass(frozen=True)
class TownShape:
    fips: str
    name: str
    geometry: shapely.Geometry


def check_coordinates(lat: object, lon: object) -> tuple[float, float]:
    """Both coordinates as floats, or InvalidCoordinateError naming the first bad one."""
    if (
        type(lat) is float
        and type(lon) is float
        and -90.0 <= lat <= 90.0
        and -180.0 <= lon <= 180.0
    ):
        return lat, lon  # the common case, checked in a fraction of a microsecond
    values = []
    for field, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
        if isinstance(value, bool):
            raise InvalidCoordinateError(field, f"must be a number, got {value!r}")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InvalidCoordinateError(field, f"must be a number, got {value!r}") from None
        if not -limit <= number <= limit:  # also false for NaN
            raise InvalidCoordinateError(
                field, f"must be a finite number from {-limit:g} to {limit:g}, got {value!r}"
            )
        values.append(number)
    return values[0], values[1]


def check_coordinate_arrays(
    lats: ArrayLike, lons: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    arrays = []
    for field, values, limit in (("lat", lats, 90.0), ("lon", lons, 180.0)):
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidCoordinateError(field, "must be an array of numbers") from None
        bad = ~(np.abs(array) <= limit)  # NaN and ±inf compare false
        if bad.any():
            position = [int(i) for i in np.unravel_index(int(np.argmax(bad)), array.shape)]
            raise InvalidCoordinateError(
                field,
                f"{field}{position} must be a finite number from {-limit:g} to {limit:g}, "
                f"got {float(array[tuple(position)])!r}",
            )
        arrays.append(array)
    if arrays[0].shape != arrays[1].shape:
        raise InvalidCoordinateError(
            "lon", f"shape {arrays[1].shape} differs from lat's {arrays[0].shape}"
        )
    return arrays[0], arrays[1]


class TownGeometry:
    """The polygons of every town in rank order (2020 FIPS order) and the indexes over them.

    The nearest-town structure costs about a second to build and only out-of-state points
    need it, so it is built on first use (or by warm()).
    """

    def __init__(self, towns: Sequence[TownShape], digest: str = ""):
        ordered = sorted(towns, key=lambda town: town.fips)
        self.fips = tuple(town.fips for town in ordered)
        self.names = tuple(town.name for town in ordered)
        self.digest = digest
        self.grid = TownGrid([town.geometry for town in ordered])
        self._nearest: NearestTown | None = None
        self._leaf_of_cell: tuple[NDArray[np.int16] | NDArray[np.int32], memoryview, list[int]]
        self._lock = threading.Lock()

    def nearest(self) -> NearestTown:
        nearest = self._nearest
        if nearest is None:
            with self._lock:
                if self._nearest is None:
                    built = NearestTown(self.grid.geometries, inside=self.grid.inside_blocks)
                    grid = self.grid
                    index, table = built.leaves_on(
                        grid.x0, grid.y0, grid.cells_per_degree, grid.nx, grid.ny
                    )
                    self._leaf_of_cell = (index, index.data, table)
                    self._nearest = built
                nearest = self._nearest
        return nearest

    def outside_leaves(self) -> tuple[memoryview, list[int]]:
        """Per town-grid cell, the index (in the table) of the nearest-town leaf holding it, so
        a point that no town covers goes straight from its grid cell to its few candidates."""
        self.nearest()
        _, cells, table = self._leaf_of_cell
        return cells, table

    @property
    def nbytes(self) -> int:
        """Memory held by the grid, the nearest-town structure and the map between them."""
        nearest = self.nearest()
        return self.grid.nbytes + nearest.nbytes + self._leaf_of_cell[0].nbytes

    def warm(self) -> None:
        self.nearest()


class JurisdictionIndex:
    """locate() one point or locate_many() over numpy arrays; see the package docstring."""

    def __init__(self, geometry: TownGeometry, answers: Sequence[Jurisdiction]):
        if tuple(answer.town_fips for answer in answers) != geometry.fips:
            raise ValueError("one answer per town is needed, in the geometry's FIPS order")
        self.geometry = geometry
        self.towns = tuple(answers)
        # An out-of-state answer differs per town only in its distance: keep the rest ready
        # (building it positionally takes half the time of the keyword constructor).
        self._outside_prefix = tuple(
            tuple(Jurisdiction(in_state=False, nearest_town=name, nearest_town_fips=fips))[:-1]
            for name, fips in zip(geometry.names, geometry.fips, strict=True)
        )
        self._town_or_cell = geometry.grid.town_or_cell
        self._leaf_of_cell: tuple[memoryview, list[int]] | None = None
        self._nearest_in_leaf: Callable[[int, float, float], tuple[int, float]]

    def locate(self, lat: float, lon: float) -> Jurisdiction:
        if not (
            type(lat) is float
            and type(lon) is float
            and -90.0 <= lat <= 90.0
            and -180.0 <= lon <= 180.0
        ):  # check_coordinates() inlined for its common case
            lat, lon = check_coordinates(lat, lon)
        return self.locate_checked(lat, lon)

    def locate_checked(self, lat: float, lon: float) -> Jurisdiction:
        """locate() for coordinates already through check_coordinates()."""
        found = self._town_or_cell(lon, lat)
        if found >= 0:
            return self.towns[found]
        if self._leaf_of_cell is None:  # built on first use (or by warm()); the method first,
            # as another thread may read the pair as soon as it is set
            self._nearest_in_leaf = self.geometry.nearest().nearest_in_leaf
            self._leaf_of_cell = self.geometry.outside_leaves()
        if found == OUTSIDE:  # off the town grid
            town, distance = self.geometry.nearest().nearest(lon, lat)
        else:
            cells, table = self._leaf_of_cell
            town, distance = self._nearest_in_leaf(table[cells[-2 - found]], lon, lat)
        # To the metre; floor(x + 0.5) is a third of round(x, 3)'s cost (it goes via decimal).
        distance_km = _floor(distance * 1000.0 + 0.5) / 1000.0 if _isfinite(distance) else None
        return _new_tuple(Jurisdiction, self._outside_prefix[town] + (distance_km,))

    def locate_many(self, lats: ArrayLike, lons: ArrayLike) -> NDArray[np.int32]:
        """Town index (into `towns`) for each point, -1 outside; same shape as the input."""
        lat_array, lon_array = check_coordinate_arrays(lats, lons)
        return self.locate_many_checked(lat_array, lon_array)

    def locate_many_checked(
        self, lat_array: NDArray[np.float64], lon_array: NDArray[np.float64]
    ) -> NDArray[np.int32]:
        """locate_many() for arrays already through check_coordinate_arrays()."""
        found = self.geometry.grid.towns_at(lon_array.ravel(), lat_array.ravel())
        return found.reshape(lat_array.shape)
