"""How DESPP's vocabularies map to the NENA EIDO registries (NENA-STA-021.1b-2022 §3), and the
identifiers this CAD gives the components it issues.

Registry values below are those of the standard's tables (3.1 Agency Role, 3.3 Incident
Status, 3.5 Common Disposition Codes, 3.8 Location Type, 3.9/3.10 Primary/Secondary Unit
Status, 3.11 Emergency Resource Type). Where our term has no exact registry twin the nearest
one is used and our own value always travels beside it in the matching `...Internal...` field,
so the receiving CAD (and our importer) reads the exact local meaning back.
"""

from datetime import UTC, datetime

from despp.core.models import Agency
from despp.dispatch.models import AssignmentStatus, IncidentStatus, Priority, UnitKind

# Agencies are named as NENA agency identifiers: a domain under the department's own.
AGENCY_DOMAIN = "despp.ct.gov"
ISSUING_ELEMENT = f"cad.{AGENCY_DOMAIN}"
AGENCY_TYPE = {"psap": "psap", "fire_department": "fire", "ems": "ems"}  # else "police"

# EIDO incidentCommonPriorityNumber is 0..10 with 10 the highest; our P1 is the most urgent.
EIDO_PRIORITY: dict[int, int] = {
    Priority.IMMEDIATE: 10,
    Priority.URGENT: 8,
    Priority.PROMPT: 6,
    Priority.ROUTINE: 4,
    Priority.SCHEDULED: 2,
}


def priority_from_eido(number: int) -> int:
    """0..10 back onto P1..P5 in bands (9-10 P1, 7-8 P2, 5-6 P3, 3-4 P4, 0-2 P5): exact for
    every value we send, nearest for anyone else's."""
    if number >= 9:
        return Priority.IMMEDIATE
    if number >= 7:
        return Priority.URGENT
    if number >= 5:
        return Priority.PROMPT
    if number >= 3:
        return Priority.ROUTINE
    return Priority.SCHEDULED


def incident_status(status: str, *, assigned: bool, en_route: bool, on_scene: bool) -> list[str]:
    """Incident Status-Common values (table 3.3) for our status and how far units got."""
    if status in (IncidentStatus.CLOSED, IncidentStatus.MERGED):
        return ["Closed"]
    values = ["Active"]
    if on_scene:
        values.append("ResourcesOnscene")
    elif en_route:
        values.append("ResourcesEnroute")
    elif assigned:
        values.append("ResourcesAssigned")
    return values


RESOURCE_TYPE: dict[str, str] = {
    UnitKind.TROOP_CAR: "PatrolUnit",
    UnitKind.POLICE_CAR: "PatrolUnit",
    UnitKind.POLICE_SUPERVISOR: "CommandLevel3",
    UnitKind.K9: "PatrolUnit",
    UnitKind.MARINE: "WaterRescueTeam",
    UnitKind.ENGINE: "StructureFireEngineType1",
    UnitKind.LADDER: "FireTruckLadder",
    UnitKind.RESCUE: "HeavyRescue",
    UnitKind.TANKER: "FireWaterTender",
    UnitKind.BRUSH: "BrushFireEngineType6",
    UnitKind.FIRE_CHIEF: "CommandLevel3",
    UnitKind.ALS: "GroundALSAmbulance",
    UnitKind.BLS: "GroundBLSAmbulance",
    UnitKind.EMS_SUPERVISOR: "CommandLevel3",
}

# (Primary Unit Status-Common, Secondary Unit Status-Common values) per assignment status.
UNIT_STATUS: dict[str, tuple[str, list[str]]] = {
    AssignmentStatus.RESERVED: ("ConditionallyAvailable", ["Assigned"]),
    AssignmentStatus.DISPATCHED: ("NotAvailable", ["Dispatched"]),
    AssignmentStatus.EN_ROUTE: ("NotAvailable", ["EnRoute"]),
    AssignmentStatus.ON_SCENE: ("NotAvailable", ["OnScene"]),
    AssignmentStatus.TRANSPORTING: ("NotAvailable", ["Transporting", "Hospital"]),
    AssignmentStatus.AT_HOSPITAL: ("NotAvailable", ["Arrived", "Hospital"]),
    AssignmentStatus.CLEARED: ("Available", ["Cleared"]),
}

# Our disposition codes (dispatch/data/dispositions.csv) -> Common Disposition Codes (3.5).
DISPOSITION: dict[str, str] = {
    "RPT": "01",
    "ARR": "03",
    "CIT": "04",
    "WARN": "18",
    "ADV": "18",
    "SVC": "18",
    "GOA": "14",
    "UTL": "14",
    "UNF": "02",
    "FA": "17",
    "CAN": "32",
    "DUP": "22",
    "REF": "15",
    "TRN": "45",
    "NTR": "43",
    "DOA": "39",
    "FEXT": "23",
    "HAZ": "26",
    "TEST": "13",
}


def agency_id(agency: Agency) -> str:
    return f"{agency.code}.{AGENCY_DOMAIN}"


def agency_code_from(identifier: str) -> str:
    """Our agency code from an identifier we issued (`<code>.despp.ct.gov`), else ''."""
    suffix = f".{AGENCY_DOMAIN}"
    return identifier[: -len(suffix)] if identifier.endswith(suffix) else ""


def incident_tracking_id(psap: Agency, year: int, number: int) -> str:
    """A globally unique incident id in the NG9-1-1 form urn:emergency:uid:incidentid:…"""
    return f"urn:emergency:uid:incidentid:{year}{number:06d}:{agency_id(psap)}"


def call_id(psap: Agency, call_pk: int) -> str:
    return f"urn:emergency:uid:callid:c{call_pk}:{agency_id(psap)}"


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as every EIDO time is written here."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
