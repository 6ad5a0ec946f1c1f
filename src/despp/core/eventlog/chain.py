"""The hash chain: what an event's hash covers, and event data that reads back as hashed.

See the package docstring for the exact definition of the hash.
"""

import hashlib
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


class EventDataError(ValueError):
    """The event cannot be stored so that it reads back exactly as it was hashed."""


def canonical_json(value: Any) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        cls=DjangoJSONEncoder,
    )


def event_hash(
    *,
    prev_hash: str,
    stream: str,
    position: int,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    kind: str,
    data: Any,
) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return digest([prev_hash, stream, position, stamp, actor_id, actor_name, kind, data])


# One encoder, built once, for the verifier's hot loop: what it hashes is already plain JSON.
_encode_plain = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def digest(body: list[Any]) -> str:
    """SHA-256 of the canonical JSON of `body` (already plain JSON)."""
    return hashlib.sha256(_encode_plain(body).encode("utf-8")).hexdigest()


def check_text(what: str, text: str) -> None:
    if "\x00" in text:
        raise EventDataError(f"{what} contains a NUL character, which databases cannot store")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EventDataError(f"{what} is not valid Unicode: {exc.reason}") from exc


def storable(value: Any, where: str = "data") -> Any:
    """`value` as plain JSON that reads back identically from SQLite and PostgreSQL alike.

    PostgreSQL's jsonb keeps numbers as decimals, so 1e16 or 2.0 come back as the integers
    10000000000000000 and 2, and -0.0 as 0; integral floats are stored as those integers so the
    hash covers what the database will hand back. NaN, infinities, NUL characters and lone
    surrogates cannot be stored at all and are refused.
    """
    if isinstance(value, dict):
        for key in value:
            check_text(f"{where} key {key!r}", key)
        return {key: storable(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, str):
        check_text(where, value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise EventDataError(f"{where} is {value}, which JSON cannot represent")
        if value.is_integer():
            return int(Decimal(repr(value)))
    return value


def prepare_payload(data: dict[str, Any] | None) -> dict[str, Any]:
    try:
        # The JSON round trip applies DjangoJSONEncoder (dates, decimals, UUIDs become text).
        plain = json.loads(canonical_json(data or {}))
    except (TypeError, ValueError) as exc:
        raise EventDataError(f"event data is not JSON-serialisable: {exc}") from exc
    payload = storable(plain)
    if not isinstance(payload, dict):
        raise EventDataError("event data must be a JSON object")
    return payload
