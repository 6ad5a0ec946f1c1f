"""The event kinds of the dispatch floor and the streams they go on.

Streams: `call:<call id>` (a call's own history: received, answered, transferred, released,
callback attempts), `incident:<incident id>` (the incident's timeline: created, calls attached,
units dispatched and their status changes, notes, links, merge/split, closed) and
`unit:<unit id>` (service changes, AVL positions, emergency raised/acknowledged). Live consoles
follow them through the event log's global `seq` (Server-Sent Events, `Last-Event-ID`).

Every event's `data` names the ids it touches (`incident`, `unit`, `call`, `psap` as agency
code) so a feed can scope an event to the consoles allowed to see it without a query.
"""

from django.db import models


class Kind(models.TextChoices):
    CALL_RECEIVED = "call.received", "Call received"
    CALL_ANSWERED = "call.answered", "Call answered"
    CALL_RELEASED = "call.released", "Call released"
    CALL_ABANDONED = "call.abandoned", "Call abandoned (to the callback queue)"
    CALL_CALLBACK = "call.callback", "Callback attempt recorded"
    CALL_TRANSFERRED = "call.transferred", "Call transferred to another PSAP"
    CALL_LOCATED = "call.located", "Call location entered or corrected"
    CALL_ATTACHED = "call.attached", "Call attached to an incident"

    INCIDENT_CREATED = "incident.created", "Incident created"
    INCIDENT_UPDATED = "incident.updated", "Incident details changed"
    INCIDENT_NOTE = "incident.note", "Narrative added"
    INCIDENT_LINKED = "incident.linked", "Incident linked to another"
    INCIDENT_MERGED = "incident.merged", "Incident merged into another"
    INCIDENT_ABSORBED = "incident.absorbed", "Another incident merged into this one"
    INCIDENT_SPLIT = "incident.split", "Calls split off into a new incident"
    INCIDENT_CLOSED = "incident.closed", "Incident closed with a disposition"
    INCIDENT_REOPENED = "incident.reopened", "Incident reopened"
    INCIDENT_RECOMMENDED = "incident.recommended", "Units recommended"

    UNIT_ASSIGNED = "unit.assigned", "Unit dispatched or reserved"
    UNIT_STATUS = "unit.status", "Unit status changed on an incident"
    UNIT_OVERRIDE = "unit.override", "Recommendation overridden (reason given)"
    UNIT_SERVICE = "unit.service", "Unit put in or out of service"
    UNIT_POSITION = "unit.position", "Unit position (AVL)"
    UNIT_EMERGENCY = "unit.emergency", "Emergency button pressed"
    UNIT_EMERGENCY_ACK = "unit.emergency_ack", "Emergency acknowledged"


def call_stream(call_id: int) -> str:
    return f"call:{call_id}"


def incident_stream(incident_id: int) -> str:
    return f"incident:{incident_id}"


def unit_stream(unit_id: int) -> str:
    return f"unit:{unit_id}"
