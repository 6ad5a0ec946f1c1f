"""Core models, one module per concern; re-exported so Django and callers find them here."""

from despp.core.models.audit import AccessAudit, AuditAction, AuditOutcome
from despp.core.models.eventlog import Event
from despp.core.models.geography import (
    County,
    Policing,
    Provenance,
    ReferenceState,
    Town,
    Troop,
)
from despp.core.models.identity import Agency, AgencyKind, ApiToken, User

__all__ = [
    "AccessAudit",
    "Agency",
    "AgencyKind",
    "ApiToken",
    "AuditAction",
    "AuditOutcome",
    "County",
    "Event",
    "Policing",
    "Provenance",
    "ReferenceState",
    "Town",
    "Troop",
    "User",
]
