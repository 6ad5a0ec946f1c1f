"""An incident as a NENA EIDO document (NENA-STA-021.1, `eidoVersion` 1.0).

What goes in, from where:
- `$id` (the incident tracking identifier): the sender's id when the incident came to us by
  EIDO (`Incident.eido_id`), else one made from the PSAP, year and number (mapping.py).
- incidentComponent: APCO nature code as `incidentTypeCommonRegistryText` (our code and label as
  the internal code/text), priority 0-10 (10 highest) with `P1`…`P5` as internal text, status
  (registry + ours), PSAP/number as `internalIncidentId`, town as beat, disposition.
- locationComponent: the incident's point (`CurrentIncident`) and each call's (`Caller`) as a
  PIDF-LO `gml:Point`, with what the call-taker typed as `locationDescriptionText`.
- callComponent + callbackComponent: each 911 call (receipt, answer, state, callback number).
- agencyComponent: the PSAP (owning, call receiving, dispatching) and each dispatched agency.
- dispatchComponent + emergencyResourceComponent: one per dispatching agency and per unit
  assignment, with the registry unit status and ours.
- notesComponent: the narrative (incident.note events), HTML-escaped as EIDO wants HTML5.
- linkComponent / mergeComponent: linked incidents (RELATED), merged ones (REPLACED/REPLACING).

An incident received by EIDO also carries, verbatim, every component the sender sent that has
no home in our model (their calls, callbacks, people, vehicles, agents, units, notes, other
locations), as the importer recorded them on the incident's timeline; our own facts (status,
units we sent, notes we added, who owns it now) are added beside them.

Every document this module returns has been validated against the shipped schema.
"""

import html
import re
from datetime import datetime
from typing import Any

from despp.core.models import Agency, Event
from despp.dispatch.eido import mapping
from despp.dispatch.eido.schema import schema_errors
from despp.dispatch.events import Kind, incident_stream
from despp.dispatch.models import Assignment, Call, CallStatus, ClassOfService, Incident

EIDO_VERSION = "1.0"
CONTEXT = {"@vocab": "./JSON-LD_Contexts/EmergencyIncidentDataObjectType.jsonld"}
CALL_STATE = {
    CallStatus.RINGING: "callBegin",
    CallStatus.ANSWERED: "callAnswered",
    CallStatus.RELEASED: "callEnd",
    CallStatus.ABANDONED: "callEnd",
    CallStatus.TRANSFERRED: "callEnd",
}
# Components of the sender's that a received incident carries (see the module docstring).
CARRIED = (
    "callComponent",
    "callbackComponent",
    "locationComponent",
    "agencyComponent",
    "agentComponent",
    "personComponent",
    "vehicleComponent",
    "additionalDataComponent",
    "dispatchComponent",
    "emergencyResourceComponent",
    "notesComponent",
    "alarmsSensorsComponent",
    "cautionComponent",
    "mediaComponent",
    "sharedCommunicationResourceComponent",
    "externalInformationSourceComponent",
    "linkComponent",
    "mergeComponent",
)
# Members of the sender's incident component that we rebuild from our own record.
OWN_INCIDENT_FIELDS = frozenset(
    {
        "lastUpdateTimeStamp",
        "updatedByAgencyReference",
        "updatedByAgentReference",
        "incidentTypeCommonRegistryText",
        "incidentTypeInternalCode",
        "incidentTypeInternalText",
        "incidentStatusCommonRegistryText",
        "incidentStatusInternalText",
        "internalIncidentId",
        "incidentCommonPriorityNumber",
        "incidentPriorityInternalText",
        "beatOrDispatchGroupText",
        "dispositionComponent",
    }
)


class ExportError(Exception):
    """The document we built does not validate: a defect here, never the user's."""


def tracking_id(incident: Incident) -> str:
    return incident.eido_id or mapping.incident_tracking_id(
        incident.psap, incident.year, incident.number
    )


def pidf_point(entity: str, lat: float, lon: float, radius_m: int | None = None) -> str:
    """A minimal PIDF-LO presence document holding one WGS 84 point (and its uncertainty)."""
    shape = (
        f'<gs:Circle srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{lat} {lon}</gml:pos>'
        f'<gs:radius uom="urn:ogc:def:uom:EPSG::9001">{radius_m}</gs:radius></gs:Circle>'
        if radius_m is not None
        else f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{lat} {lon}</gml:pos>'
        "</gml:Point>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
        'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:gml="http://www.opengis.net/gml" xmlns:gs="http://www.opengis.net/pidflo/1.0" '
        f'entity="{html.escape(entity, quote=True)}"><tuple id="location"><status><gp:geopriv>'
        f"<gp:location-info>{shape}</gp:location-info></gp:geopriv></status></tuple></presence>"
    )


def _tel(number: str) -> str:
    digits = re.sub(r"\D", "", number)
    if len(digits) == 10:
        return f"tel:+1{digits}"
    return f"tel:+{digits}" if number.strip().startswith("+") else f"tel:{digits}"


class _Builder:
    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        self.psap: Agency = incident.psap
        self.owner = mapping.agency_id(self.psap)
        self.tracking = tracking_id(incident)
        self.stamps: list[datetime] = [incident.created_at]
        self.doc: dict[str, list[dict[str, Any]]] = {}

    def own_id(self, what: str) -> str:
        return f"{self.tracking}#{self.psap.code}-{what}"

    def prologue(self, identifier: str, at: datetime) -> dict[str, Any]:
        self.stamps.append(at)
        return {
            "$id": identifier,
            "lastUpdateTimeStamp": mapping.timestamp(at),
            "updatedByAgencyReference": {"$ref": self.owner},
        }

    def add(self, component: str, item: dict[str, Any]) -> None:
        items = self.doc.setdefault(component, [])
        items[:] = [existing for existing in items if existing.get("$id") != item["$id"]]
        items.append(item)


def _received(incident: Incident) -> dict[str, Any]:
    """What the importer recorded on the incident.created event of a received incident."""
    if not incident.eido_id:
        return {}
    created = (
        Event.objects.filter(stream=incident_stream(incident.pk), kind=Kind.INCIDENT_CREATED)
        .order_by("position")
        .first()
    )
    return dict(created.data.get("eido") or {}) if created is not None else {}


def _location(builder: _Builder, identifier: str, kind: str, at: datetime, **where: Any) -> str:
    item = builder.prologue(identifier, at) | {"locationTypeDescriptionRegistryText": kind}
    if where.get("lat") is not None and where.get("lon") is not None:
        item["locationByValue"] = pidf_point(
            identifier, where["lat"], where["lon"], where.get("radius")
        )
    if where.get("text"):
        item["locationDescriptionText"] = where["text"]
    builder.add("locationComponent", item)
    return identifier


def _calls(builder: _Builder, calls: list[Call]) -> None:
    for call in calls:
        identifier = call.source_ref if call.source_ref.startswith("urn:") else None
        identifier = identifier or mapping.call_id(builder.psap, call.pk)
        stamps = [call.received_at, call.answered_at, call.released_at, call.transferred_at]
        at = max(stamp for stamp in stamps if stamp is not None)
        item = builder.prologue(identifier, at) | {
            "standardPrimaryCallType": "emergency",
            "localCallType": ClassOfService(call.class_of_service).value,
            "direction": "incoming",
            "callStartTimestamp": mapping.timestamp(call.received_at),
            "callStateRegistryText": CALL_STATE.get(CallStatus(call.status), "callEnd"),
        }
        if call.answered_at is not None:
            item["answerDate"] = mapping.timestamp(call.answered_at)
        if call.callback_number:
            callback = builder.prologue(f"{identifier}#callback", call.received_at) | {
                "callBackInformationUri": [_tel(call.callback_number)]
            }
            builder.add("callbackComponent", callback)
            item["callBackReference"] = {"$ref": callback["$id"]}
        text = call.location_text or call.civic_address
        if call.lat is not None or text:
            where = _location(
                builder,
                f"{identifier}#caller-location",
                "Caller",
                call.received_at,
                lat=call.lat,
                lon=call.lon,
                radius=call.uncertainty_m,
                text=text,
            )
            item["locationReference"] = [{"$ref": where}]
        if call.description:
            note = builder.prologue(f"{identifier}#description", call.received_at) | {
                "notesActionComments": html.escape(call.description)
            }
            builder.add("notesComponent", note)
            item["notesReference"] = [{"$ref": note["$id"]}]
        builder.add("callComponent", item)


def _units(builder: _Builder, assignments: list[Assignment]) -> None:
    by_agency: dict[int, list[str]] = {}
    for assignment in assignments:
        unit = assignment.unit
        primary, secondary = mapping.UNIT_STATUS[assignment.status]
        identifier = builder.own_id(f"unit-{unit.call_sign}-{assignment.pk}")
        item = builder.prologue(identifier, assignment.status_at) | {
            "emergencyResourceTypeCommonRegistryText": mapping.RESOURCE_TYPE[unit.kind],
            "emergencyResourceTypeInternalText": unit.kind,
            "emergencyResourceName": unit.call_sign,
            "primaryUnitStatusRegistryText": primary,
            "secondaryUnitStatusRegistryText": secondary,
            "unitStatusInternal": [assignment.status],
            "resourceAttributeRegistryText": [],
            "agentReference": [],
        }
        builder.add("emergencyResourceComponent", item)
        by_agency.setdefault(unit.agency_id, []).append(identifier)
    agencies = {assignment.unit.agency_id: assignment.unit.agency for assignment in assignments}
    for agency_pk, resources in by_agency.items():
        agency = agencies[agency_pk]
        first = min(
            a.dispatched_at or a.status_at for a in assignments if a.unit.agency_id == agency_pk
        )
        builder.add(
            "dispatchComponent",
            builder.prologue(builder.own_id(f"dispatch-{agency.code}"), first)
            | {
                "agencyReference": {"$ref": mapping.agency_id(agency)},
                "emergencyResourceReference": [{"$ref": ref} for ref in resources],
            },
        )
        if agency.pk != builder.psap.pk:
            builder.add(
                "agencyComponent",
                builder.prologue(mapping.agency_id(agency), first)
                | {
                    "agencyRoleDescriptionRegistryText": ["Dispatched"],
                    "agencyType": [mapping.AGENCY_TYPE.get(agency.kind, "police")],
                    "incidentOwningAgencyIndicator": False,
                },
            )


def _notes(builder: _Builder) -> list[str]:
    ids = []
    notes = Event.objects.filter(
        stream=incident_stream(builder.incident.pk), kind=Kind.INCIDENT_NOTE
    ).order_by("position")
    for event in notes:
        identifier = builder.own_id(f"note-{event.position}")
        builder.add(
            "notesComponent",
            builder.prologue(identifier, event.at)
            | {"notesActionComments": html.escape(str(event.data.get("text", "")))},
        )
        ids.append(identifier)
    return ids


def _relations(builder: _Builder) -> None:
    incident = builder.incident
    at = incident.created_at
    for link in incident.links_out.select_related("other__psap"):
        builder.add(
            "linkComponent",
            builder.prologue(builder.own_id(f"link-{link.pk}"), link.created_at)
            | {
                "incidentTrackingIdentifier": tracking_id(link.other),
                "linkDirectionCode": "RELATED",
                "transactionReasonText": link.reason,
            },
        )
    for link in incident.links_in.select_related("incident__psap"):
        builder.add(
            "linkComponent",
            builder.prologue(builder.own_id(f"link-{link.pk}"), link.created_at)
            | {
                "incidentTrackingIdentifier": tracking_id(link.incident),
                "linkDirectionCode": "RELATED",
                "transactionReasonText": link.reason,
            },
        )
    if incident.merged_into is not None:
        builder.add(
            "mergeComponent",
            builder.prologue(builder.own_id("merged-into"), incident.closed_at or at)
            | {
                "incidentTrackingIdentifier": tracking_id(incident.merged_into),
                "incidentMergeDirectionCode": "REPLACING",
            },
        )
    for absorbed in incident.merged_from.select_related("psap"):
        builder.add(
            "mergeComponent",
            builder.prologue(builder.own_id(f"absorbed-{absorbed.pk}"), absorbed.closed_at or at)
            | {
                "incidentTrackingIdentifier": tracking_id(absorbed),
                "incidentMergeDirectionCode": "REPLACED",
            },
        )


def _incident_component(
    builder: _Builder, received: dict[str, Any], assignments: list[Assignment]
) -> dict[str, Any]:
    incident = builder.incident
    nature = incident.nature
    carried = {
        key: value
        for key, value in (received.get("incident") or {}).items()
        if key not in OWN_INCIDENT_FIELDS
    }
    identifier = carried.pop("$id", None) or f"{builder.tracking}#incident"
    stamps = [
        incident.created_at,
        incident.first_notified_at,
        incident.first_en_route_at,
        incident.first_on_scene_at,
        incident.closed_at,
    ]
    item = carried | builder.prologue(identifier, max(s for s in stamps if s is not None))
    item |= {
        "incidentTypeCommonRegistryText": nature.code if nature.apco_registry else "INFO",
        "incidentTypeInternalCode": nature.code,
        "incidentTypeInternalText": nature.label,
        "incidentStatusCommonRegistryText": mapping.incident_status(
            incident.status,
            assigned=bool(assignments),
            en_route=incident.first_en_route_at is not None,
            on_scene=incident.first_on_scene_at is not None,
        ),
        "incidentStatusInternalText": [incident.status],
        "internalIncidentId": f"{builder.psap.code}/{incident.display_number}",
        "incidentCommonPriorityNumber": mapping.EIDO_PRIORITY[incident.priority],
        "incidentPriorityInternalText": f"P{incident.priority}",
    }
    if incident.town is not None:
        item["beatOrDispatchGroupText"] = incident.town.name
    if incident.disposition is not None and incident.disposition.code in mapping.DISPOSITION:
        item["dispositionComponent"] = [
            builder.prologue(builder.own_id("disposition"), incident.closed_at or item_time(item))
            | {
                "dispositionCommonRegistryCode": mapping.DISPOSITION[incident.disposition.code],
                "dispositionPrimaryIndicator": True,
                "dispositionCategoryText": incident.disposition.code,
                "dispositionDescriptionText": incident.disposition.label,
            }
        ]
    return item


def item_time(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(item["lastUpdateTimeStamp"]).replace("Z", "+00:00"))


def export_incident(incident: Incident) -> dict[str, Any]:
    """The incident as an EIDO document (a dict ready for JSON), validated."""
    incident = Incident.objects.select_related(
        "psap", "nature", "town", "disposition", "merged_into__psap"
    ).get(pk=incident.pk)
    builder = _Builder(incident)
    received = _received(incident)
    for name in CARRIED:
        for item in (received.get("components") or {}).get(name, []):
            builder.add(name, dict(item))
    assignments = list(incident.assignments.select_related("unit__agency").order_by("pk"))
    _calls(builder, list(incident.calls.order_by("received_at", "pk")))
    location_refs = list((received.get("incident") or {}).get("locationReference", []))
    moved = (incident.lat, incident.lon, incident.location_text) != (
        received.get("lat"),
        received.get("lon"),
        received.get("location_text"),
    )
    if (incident.lat is not None or incident.location_text) and (not received or moved):
        where = _location(
            builder,
            builder.own_id("location"),
            "CurrentIncident",
            incident.created_at,
            lat=incident.lat,
            lon=incident.lon,
            text=incident.location_text,
        )
        location_refs.append({"$ref": where})
    _units(builder, assignments)
    notes = [
        *((received.get("incident") or {}).get("notesReference", [])),
        *({"$ref": ref} for ref in _notes(builder)),
    ]
    _relations(builder)
    builder.add(
        "agencyComponent",
        builder.prologue(builder.owner, incident.created_at)
        | {
            "agencyRoleDescriptionRegistryText": ["CallReceiving", "Dispatching"],
            "agencyType": ["psap"],
            "incidentOwningAgencyIndicator": True,
        },
    )
    component = _incident_component(builder, received, assignments)
    if location_refs:
        component["locationReference"] = location_refs
    if notes:
        component["notesReference"] = notes
    document: dict[str, Any] = {
        "$id": builder.tracking,
        "lastUpdateTimeStamp": mapping.timestamp(max(builder.stamps)),
        "updatedByAgencyReference": {"$ref": builder.owner},
        "eidoVersion": EIDO_VERSION,
        "issuingElementIdentification": mapping.ISSUING_ELEMENT,
        "incidentComponent": component,
    }
    for name in CARRIED:
        if builder.doc.get(name):
            document[name] = builder.doc[name]
    document["@context"] = CONTEXT
    errors = schema_errors(document)
    if errors:
        raise ExportError("; ".join(f"{error.path}: {error.message}" for error in errors))
    return document
