"""The console map's base layer: every town's boundary, simplified, as one GeoJSON document.

Drawn from the shipped town polygons (core.Town.boundary), so the map works with no internet
and no tile server. Built once per process and per reference revision (an administrator's
boundary correction bumps `ReferenceState.revision`, which rebuilds it), served with an ETag.
"""

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from shapely.geometry import mapping, shape

from despp.core.models import ReferenceState, Town

# Degrees (about 50 m at Connecticut's latitude): invisible at the zoom a console uses, and
# keeps the whole state near 120 KB. Coordinates are then rounded to 4 decimals (about 10 m).
TOLERANCE_DEG = 0.0005
DECIMALS = 4


@dataclass(frozen=True)
class TownsLayer:
    key: tuple[int, str, int]
    body: bytes
    etag: str


_lock = threading.Lock()
_cached: TownsLayer | None = None


def _round(coords: Any) -> Any:
    if coords and isinstance(coords[0], int | float):
        return [round(coords[0], DECIMALS), round(coords[1], DECIMALS)]
    return [_round(part) for part in coords]


def build() -> bytes:
    features = []
    for name, county, boundary in Town.objects.order_by("name").values_list(
        "name", "county__name", "boundary"
    ):
        geometry = mapping(shape(boundary).simplify(TOLERANCE_DEG, preserve_topology=True))
        features.append(
            {
                "type": "Feature",
                "properties": {"name": name, "county": county},
                "geometry": {
                    "type": geometry["type"],
                    "coordinates": _round(geometry["coordinates"]),
                },
            }
        )
    document = {"type": "FeatureCollection", "features": features}
    return json.dumps(document, separators=(",", ":")).encode()


def towns_layer() -> TownsLayer:
    """The cached layer, rebuilt when the reference geography changed since it was built."""
    global _cached
    state = ReferenceState.objects.filter(key="geography").values_list(
        "revision", "geometry_digest"
    )
    revision, digest = state.first() or (0, "")
    # The town count as well: a database loaded without a revision bump (tests) still shows.
    key = (revision, digest, Town.objects.count())
    with _lock:
        if _cached is None or _cached.key != key:
            body = build()
            etag = f'"towns-{hashlib.sha256(body).hexdigest()[:16]}"'
            _cached = TownsLayer(key=key, body=body, etag=etag)
        return _cached
