"""Dispatch services: every change of state on the dispatch floor (see each module).

Calls and incidents (calls.py, incidents.py) are re-exported here; units and assignments live
in units.py and assignments.py.
"""

from despp.dispatch.services.assignments import (
    change_status,
    clear_unit,
    dispatch_units,
    reserve_unit,
    reserve_units,
)
from despp.dispatch.services.calls import (
    CALLBACK_QUEUE,
    Intake,
    abandon_call,
    answer_call,
    intake_call,
    jurisdiction_of,
    receive_call,
    record_callback,
    release_call,
    transfer_call,
)
from despp.dispatch.services.incidents import (
    add_note,
    attach_call,
    cautions_near,
    close_incident,
    create_incident,
    link_incidents,
    merge_incidents,
    next_incident_number,
    split_incident,
)
from despp.dispatch.services.units import (
    acknowledge_emergency,
    raise_emergency,
    report_position,
    set_in_service,
)

__all__ = [
    "CALLBACK_QUEUE",
    "Intake",
    "abandon_call",
    "acknowledge_emergency",
    "add_note",
    "answer_call",
    "attach_call",
    "cautions_near",
    "change_status",
    "clear_unit",
    "close_incident",
    "create_incident",
    "dispatch_units",
    "intake_call",
    "jurisdiction_of",
    "link_incidents",
    "merge_incidents",
    "next_incident_number",
    "raise_emergency",
    "receive_call",
    "record_callback",
    "release_call",
    "report_position",
    "reserve_unit",
    "reserve_units",
    "set_in_service",
    "split_incident",
    "transfer_call",
]
