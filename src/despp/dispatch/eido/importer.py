"""Receive an incident from another CAD as a NENA EIDO document.

Checks, each failure a 422 naming the JSON path (`EidoInvalid.errors`), nothing written:
1. the document validates against the shipped schema (every error, with its path);
2. every `{"$ref": …}` points at a component `$id` in the document, and no `$id` repeats
   (the schema cannot check references: NENA's README says so);
3. the incident type is a nature code we know (`incidentTypeCommonRegistryText`, or our own
   local code in `incidentTypeInternalCode` when the registry text is INFO); a document without
   an incident component (a bare call transfer, like NENA's sample) opens an INFO incident for
   the receiving call-taker to classify; `incidentCommonPriorityNumber` is 0-10;
4. the incident's location (its CurrentIncident/InitialIncident location, else the first
   call's caller location), when it holds a PIDF-LO point, is a valid one (our location rules);
   a civic address or description only is kept as the location text.

Then the incident is created at the receiving PSAP with source TRANSFER through the incident
service's own creation path (number, audit, incident.created event), keeping the sender's
incident id (`Incident.eido_id`: a second import of it at the same PSAP is a 409) and, on the
incident.created event, every component the sender sent that our model has no place for, so a
later export carries them on unchanged (export.py).
"""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from despp.core.errors import Conflict
from despp.core.models import Agency, User
from despp.dispatch.eido.export import CARRIED
from despp.dispatch.eido.mapping import priority_from_eido
from despp.dispatch.eido.schema import PathError, schema_errors
from despp.dispatch.models import Incident, IncidentSource, NatureCode

FALLBACK_NATURE = "INFO"  # APCO "Informational calls": a transfer not yet classified
INCIDENT_LOCATION_TYPES = ("CurrentIncident", "InitialIncident")
_POS = re.compile(r"<(?:\w+:)?pos>\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*</(?:\w+:)?pos>")
_CIVIC_PARTS = ("HNO", "HNS", "PRD", "RD", "STS", "POD", "A6", "A3", "A1", "PC", "country")


class EidoInvalid(Exception):
    def __init__(self, errors: list[PathError]) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


@dataclass
class Plan:
    """What the document says, checked, ready to write."""

    tracking_id: str
    sender: str
    nature: NatureCode
    priority: int | None
    lat: float | None
    lon: float | None
    location_text: str
    incident: dict[str, Any]
    components: dict[str, list[dict[str, Any]]]


def _walk_refs(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        if set(value) == {"$ref"} and isinstance(value["$ref"], str):
            yield path, value["$ref"]
            return
        for key, item in value.items():
            child = f"{path}.{key}" if key.isidentifier() else f"{path}['{key}']"
            yield from _walk_refs(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_refs(item, f"{path}[{index}]")


def _component_ids(document: dict[str, Any]) -> tuple[dict[str, str], list[PathError]]:
    ids: dict[str, str] = {}
    errors: list[PathError] = []
    for name, items in document.items():
        if name == "incidentComponent" and isinstance(items, dict):
            items = [items]
            paths = [f"$.{name}"]
        elif isinstance(items, list):
            paths = [f"$.{name}[{index}]" for index in range(len(items))]
        else:
            continue
        for item, path in zip(items, paths, strict=True):
            if not isinstance(item, dict) or not isinstance(item.get("$id"), str):
                continue
            for nested in item.get("dispositionComponent", []) or []:
                if isinstance(nested, dict) and isinstance(nested.get("$id"), str):
                    ids.setdefault(nested["$id"], path)
            if item["$id"] in ids:
                errors.append(
                    PathError(f"{path}['$id']", f"{item['$id']!r} is used twice", "unique")
                )
            ids[item["$id"]] = path
    return ids, errors


def _references(document: dict[str, Any]) -> list[PathError]:
    ids, errors = _component_ids(document)
    for path, target in _walk_refs(document, "$"):
        if target not in ids:
            errors.append(
                PathError(f"{path}['$ref']", f"{target!r} names no component here", "reference")
            )
    return errors


def _nature(incident: dict[str, Any] | None) -> tuple[NatureCode | None, PathError | None]:
    if incident is None:
        found = NatureCode.objects.filter(code=FALLBACK_NATURE, active=True).first()
        if found is None:
            return None, PathError(
                "$.incidentComponent",
                f"required here: nature {FALLBACK_NATURE} is not loaded",
                "required",
            )
        return found, None
    registry = str(incident["incidentTypeCommonRegistryText"]).strip()
    internal = str(incident.get("incidentTypeInternalCode", "")).strip()
    found = NatureCode.objects.filter(code=registry, active=True).first()
    if registry == FALLBACK_NATURE and internal:
        found = NatureCode.objects.filter(code=internal, active=True).first() or found
    if found is None:
        return None, PathError(
            "$.incidentComponent.incidentTypeCommonRegistryText",
            f"{registry!r} is not an incident type (APCO common incident type) known here",
            "unknown",
        )
    return found, None


def _point(location: dict[str, Any]) -> tuple[float, float] | None:
    match = _POS.search(str(location.get("locationByValue", "")))
    return (float(match.group(1)), float(match.group(2))) if match else None


def _civic(location: dict[str, Any]) -> str:
    body = str(location.get("locationByValue", ""))
    parts = []
    for tag in _CIVIC_PARTS:
        match = re.search(rf"<(?:\w+:)?{tag}>([^<]{{1,100}})</(?:\w+:)?{tag}>", body)
        if match:
            parts.append(html.unescape(match.group(1)).strip())
    return " ".join(parts)


def _incident_location(document: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    locations = {
        item["$id"]: (f"$.locationComponent[{index}]", item)
        for index, item in enumerate(document.get("locationComponent", []))
    }
    incident = document.get("incidentComponent") or {}
    candidates = [ref["$ref"] for ref in incident.get("locationReference", [])]
    candidates += [
        key
        for key, (_, item) in locations.items()
        if item.get("locationTypeDescriptionRegistryText") in INCIDENT_LOCATION_TYPES
    ]
    for call in document.get("callComponent", []):
        candidates += [ref["$ref"] for ref in call.get("locationReference", [])]
    usable = [key for key in candidates if key in locations]
    with_point = [key for key in usable if _point(locations[key][1]) is not None]
    chosen = (with_point or usable or [None])[0]
    return locations[chosen] if chosen is not None else None


def check(document: Any) -> Plan:
    """Validate the document and read what the incident needs; EidoInvalid on any problem."""
    errors = schema_errors(document)
    if errors:
        raise EidoInvalid(errors)
    errors = _references(document)
    incident = document.get("incidentComponent")
    nature, problem = _nature(incident)
    if problem:
        errors.append(problem)
    priority = None
    if incident is not None and "incidentCommonPriorityNumber" in incident:
        number = incident["incidentCommonPriorityNumber"]
        if not 0 <= number <= 10:
            errors.append(
                PathError(
                    "$.incidentComponent.incidentCommonPriorityNumber",
                    f"{number} is outside 0..10 (10 the highest)",
                    "range",
                )
            )
        else:
            priority = priority_from_eido(number)
    lat = lon = None
    text = ""
    located = _incident_location(document)
    if located is not None:
        path, location = located
        point = _point(location)
        if point is not None:
            from despp.dispatch.geo_search import resolve_location

            try:
                where = resolve_location(lat=point[0], lon=point[1])
            except ValidationError as exc:
                message = "; ".join(str(m) for m in exc.messages)
                errors.append(PathError(f"{path}.locationByValue", message, "location"))
            else:
                lat, lon = where.lat, where.lon
        text = str(location.get("locationDescriptionText") or _civic(location))[:200]
    if errors:
        raise EidoInvalid(errors)
    if nature is None:  # _nature reported why; unreachable with errors empty
        raise EidoInvalid([PathError("$.incidentComponent", "no incident type", "required")])
    return Plan(
        tracking_id=str(document["$id"])[:255],
        sender=str(document["issuingElementIdentification"]),
        nature=nature,
        priority=priority,
        lat=lat,
        lon=lon,
        location_text=text.strip(),
        incident=dict(incident or {}),
        components={name: list(document[name]) for name in CARRIED if name in document},
    )


def import_document(
    document: Any, *, psap: Agency, user: User, request: HttpRequest | None = None
) -> Incident:
    """Create the incident the document describes at `psap` (source TRANSFER)."""
    plan = check(document)
    if len(str(document["$id"])) > 255:
        raise EidoInvalid([PathError("$['$id']", "longer than 255 characters", "maxLength")])
    if Incident.objects.filter(psap=psap, eido_id=plan.tracking_id).exists():
        raise Conflict(
            f"{psap.code} already received incident {plan.tracking_id}", eido_id=plan.tracking_id
        )
    from despp.dispatch.geo_search import resolve_location
    from despp.dispatch.services._common import Pending
    from despp.dispatch.services.incidents import _create_incident

    where = resolve_location(lat=plan.lat, lon=plan.lon) if plan.lat is not None else None
    received = {
        "id": plan.tracking_id,
        "sender": plan.sender,
        "incident": plan.incident,
        "components": plan.components,
        "lat": plan.lat,
        "lon": plan.lon,
        "location_text": plan.location_text,
    }
    try:
        with transaction.atomic():
            pending = Pending(user)
            incident = _create_incident(
                pending,
                psap_id=psap.pk,
                psap_code=psap.code,
                nature=plan.nature,
                priority=plan.priority,
                source=IncidentSource.TRANSFER,
                user=user,
                where=where,
                location_text=plan.location_text,
                request=request,
                extra={"eido": received},
            )
            incident.eido_id = plan.tracking_id
            incident.save(update_fields=["eido_id"])
            pending.flush()
    except IntegrityError as exc:  # the same document imported twice at once: one wins
        raise Conflict(
            f"{psap.code} already received incident {plan.tracking_id}", eido_id=plan.tracking_id
        ) from exc
    return incident
