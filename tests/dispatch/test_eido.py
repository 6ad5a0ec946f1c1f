"""EIDO interchange: exported incidents validate against the shipped NENA schema; imports are
checked (422 naming the JSON path of every problem, nothing written), land at the receiving
PSAP as TRANSFER incidents keeping the sender's ids, and survive a round trip."""

import copy
import hashlib
import json
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from despp.core.models import AccessAudit, Event, Town
from despp.dispatch import eido
from despp.dispatch.eido.mapping import EIDO_PRIORITY, priority_from_eido
from despp.dispatch.eido.schema import SCHEMA_PATH
from despp.dispatch.models import Incident, IncidentSource, UnitKind
from tests.dispatch.calls_fixtures import dispatch_data, reference_data, reference_snapshot  # noqa: F401
from tests.dispatch.reports_data import make_assignment, make_call, make_incident, make_unit

pytestmark = pytest.mark.usefixtures("dispatch_data")
DATA = SCHEMA_PATH.parent
SAMPLE = DATA / "examples" / "sample-call-transfer-eido.json"
T0 = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
TOLLAND = (41.8786, -72.3648)


def sample() -> dict:
    return json.loads(SAMPLE.read_text())


@pytest.fixture
def crash(agencies, dispatcher):
    eastern = agencies["psap-csp-eastern"]
    incident = make_incident(
        eastern, T0, code="MVC", priority=2, notified_s=40, en_route_s=70, on_scene_s=400,
        lat=TOLLAND[0], lon=TOLLAND[1], location_text="Tolland green by the church",
        town=Town.objects.get(name="Tolland"),
    )  # fmt: skip
    make_call(
        eastern, T0, answer_s=4, release_s=95, incident=incident, lat=TOLLAND[0], lon=TOLLAND[1],
        uncertainty_m=25, location_text="by the church", description="two cars, one smoking",
    )  # fmt: skip
    car = make_unit(agencies["csp-troop-c"], UnitKind.TROOP_CAR, "C-231")
    make_assignment(car, incident, dispatcher, T0, en_route_s=30, on_scene_s=360)
    return incident


def post(client, document, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return client.post(
        f"/api/dispatch/eido{'?' + query if query else ''}",
        json.dumps(document),
        content_type="application/json",
    )


def test_the_shipped_schema_is_the_one_its_provenance_names():
    digest = hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()
    provenance = (DATA / "PROVENANCE.md").read_text()
    assert digest in provenance
    assert hashlib.sha256(SAMPLE.read_bytes()).hexdigest() in provenance
    Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_nenas_sample_validates():
    assert eido.schema_errors(sample()) == []


def test_priority_maps_to_eido_zero_to_ten_with_ten_highest_and_back():
    assert EIDO_PRIORITY[1] == 10 and EIDO_PRIORITY[5] == 2
    assert [priority_from_eido(EIDO_PRIORITY[p]) for p in (1, 2, 3, 4, 5)] == [1, 2, 3, 4, 5]
    assert [priority_from_eido(n) for n in (10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)] == [
        1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5,
    ]  # fmt: skip


def test_an_exported_incident_validates_and_says_what_the_record_says(crash, dispatcher, sign_in):
    response = sign_in(dispatcher).get(f"/api/dispatch/incidents/{crash.pk}/eido")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert eido.schema_errors(document) == []
    component = document["incidentComponent"]
    assert component["incidentTypeCommonRegistryText"] == "MVC"
    assert component["incidentCommonPriorityNumber"] == 8
    assert component["incidentPriorityInternalText"] == "P2"
    assert component["incidentStatusCommonRegistryText"] == ["Active", "ResourcesOnscene"]
    assert document["$id"].startswith("urn:emergency:uid:incidentid:")
    [call] = document["callComponent"]
    assert call["callStartTimestamp"] == "2026-06-01T14:00:00.000Z"
    assert call["answerDate"] == "2026-06-01T14:00:04.000Z"
    [unit] = document["emergencyResourceComponent"]
    assert unit["emergencyResourceName"] == "C-231"
    assert unit["emergencyResourceTypeCommonRegistryText"] == "PatrolUnit"
    assert unit["primaryUnitStatusRegistryText"] == "Available"  # the test's response is cleared
    places = {
        loc["locationTypeDescriptionRegistryText"]: loc for loc in document["locationComponent"]
    }
    assert "41.8786 -72.3648" in places["CurrentIncident"]["locationByValue"]
    assert places["Caller"]["locationDescriptionText"] == "by the church"
    notes = [note["notesActionComments"] for note in document["notesComponent"]]
    assert notes == ["two cars, one smoking"]
    assert AccessAudit.objects.filter(object_type="incident", object_id=str(crash.pk)).exists()


def test_another_psaps_incident_is_not_found(crash, dispatcher_w, sign_in):
    assert sign_in(dispatcher_w).get(f"/api/dispatch/incidents/{crash.pk}/eido").status_code == 404


def test_round_trip_export_import_export_keeps_the_senders_content(crash, dispatcher_w, sign_in):
    first = eido.export_incident(crash)
    assert eido.export_incident(crash) == first  # the same record gives the same document
    response = post(sign_in(dispatcher_w), first)
    assert response.status_code == 201, response.content
    received = Incident.objects.get(pk=response.json()["incident"])
    assert (received.psap.code, received.source) == ("psap-csp-western", IncidentSource.TRANSFER)
    assert received.eido_id == first["$id"]
    assert (received.nature.code, received.priority) == ("MVC", 2)
    assert (received.lat, received.lon) == TOLLAND
    second = eido.export_incident(received)
    assert eido.schema_errors(second) == []

    def content(document: dict) -> dict:
        """Everything but the facts that belong to whoever holds the incident now."""
        kept = copy.deepcopy(document)
        for key in (
            "lastUpdateTimeStamp",
            "updatedByAgencyReference",
            "issuingElementIdentification",
        ):
            kept.pop(key)
        own = {
            "lastUpdateTimeStamp", "updatedByAgencyReference", "incidentStatusCommonRegistryText",
            "incidentStatusInternalText", "internalIncidentId",
        }  # fmt: skip
        kept["incidentComponent"] = {
            k: v for k, v in kept["incidentComponent"].items() if k not in own
        }
        kept["agencyComponent"] = [
            a for a in kept["agencyComponent"] if not a["$id"].startswith("psap-csp-western.")
        ]
        return kept

    a, b = content(first), content(second)
    for key in sorted(set(a) | set(b)):
        assert b.get(key) == a.get(key), key
    assert second["$id"] == first["$id"]
    assert second["callComponent"] == first["callComponent"]


def test_the_same_document_twice_at_one_psap_is_a_conflict(crash, dispatcher_w, sign_in):
    client = sign_in(dispatcher_w)
    document = eido.export_incident(crash)
    assert post(client, document).status_code == 201
    again = post(client, document)
    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    assert Incident.objects.filter(eido_id=document["$id"]).count() == 1


def test_nenas_sample_imports_as_an_info_incident_carrying_its_call(dispatcher, sign_in):
    document = sample()
    response = post(sign_in(dispatcher), document)
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["incident"])
    assert (incident.nature.code, incident.source, incident.lat) == ("INFO", "transfer", None)
    assert incident.location_text == "42 W Cellular Street Wilmington DE US"
    created = Event.objects.get(stream=f"incident:{incident.pk}", kind="incident.created")
    assert created.data["eido"]["id"] == document["$id"]
    exported = eido.export_incident(incident)
    assert eido.schema_errors(exported) == []
    assert exported["$id"] == document["$id"]
    assert exported["callComponent"] == document["callComponent"]
    assert exported["personComponent"] == document["personComponent"]


def test_schema_errors_are_422_naming_each_json_path_and_nothing_is_written(dispatcher, sign_in):
    document = sample()
    document["callComponent"][0]["direction"] = "sideways"
    del document["agencyComponent"][0]["$id"]
    document["lastUpdateTimeStamp"] = "yesterday"
    before = (Incident.objects.count(), Event.objects.count())
    response = post(sign_in(dispatcher), document)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    fields = sorted(error["field"] for error in response.json()["errors"])
    assert fields == [
        "$.agencyComponent[0]['$id']",
        "$.callComponent[0].direction",
        "$.lastUpdateTimeStamp",
    ]
    assert {error["location"] for error in response.json()["errors"]} == {"body"}
    assert (Incident.objects.count(), Event.objects.count()) == before


def test_dangling_references_unknown_types_and_bad_priorities_are_named(
    crash, dispatcher_w, sign_in
):
    document = eido.export_incident(crash)
    document["incidentComponent"]["incidentTypeCommonRegistryText"] = "NOSUCH"
    document["incidentComponent"]["incidentCommonPriorityNumber"] = 11
    document["callComponent"][0]["callBackReference"] = {"$ref": "nowhere"}
    response = post(sign_in(dispatcher_w), document)
    assert response.status_code == 422
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert (
        "'nowhere' names no component here"
        in fields["$.callComponent[0].callBackReference['$ref']"]
    )
    assert "NOSUCH" in fields["$.incidentComponent.incidentTypeCommonRegistryText"]
    assert "0..10" in fields["$.incidentComponent.incidentCommonPriorityNumber"]
    assert not Incident.objects.filter(psap__code="psap-csp-western").exists()


def test_a_point_far_outside_the_state_is_refused_at_its_location(crash, dispatcher_w, sign_in):
    document = eido.export_incident(crash)
    for location in document["locationComponent"]:
        location["locationByValue"] = location["locationByValue"].replace(
            "41.8786 -72.3648", "40.0 -75.0"
        )
    response = post(sign_in(dispatcher_w), document)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("$.locationComponent[")


def test_importing_needs_call_create_and_a_psap_in_scope(crash, trooper, dispatcher, sign_in):
    document = eido.export_incident(crash)
    assert post(sign_in(trooper), document).status_code == 403
    assert post(sign_in(dispatcher), document, psap="psap-csp-western").status_code == 404
    malformed = sign_in(dispatcher).post("/api/dispatch/eido", "{", content_type="application/json")
    assert malformed.status_code == 400
    assert Incident.objects.count() == 1


def test_links_merges_notes_and_the_disposition_travel_as_their_components(
    crash, agencies, dispatcher
):
    from despp.core.eventlog import append
    from despp.dispatch.models import DispositionCode, IncidentLink, IncidentStatus

    eastern = agencies["psap-csp-eastern"]
    other = make_incident(eastern, T0, code="MVC")
    absorbed = make_incident(
        eastern, T0, code="MVC", status=IncidentStatus.MERGED, merged_into=crash
    )
    IncidentLink.objects.create(
        incident=crash, other=other, reason="same pile-up", created_by=dispatcher
    )
    append(f"incident:{crash.pk}", "incident.note", {"incident": crash.pk, "text": "<b>icy</b>"})
    crash.status, crash.closed_at = IncidentStatus.CLOSED, T0.replace(hour=15)
    crash.disposition = DispositionCode.objects.get(code="RPT")
    crash.save()
    document = eido.export_incident(crash)
    assert eido.schema_errors(document) == []
    [link] = document["linkComponent"]
    assert (link["incidentTrackingIdentifier"], link["linkDirectionCode"]) == (
        eido.tracking_id(other),
        "RELATED",
    )
    [merge] = document["mergeComponent"]
    assert merge["incidentTrackingIdentifier"] == eido.tracking_id(absorbed)
    assert merge["incidentMergeDirectionCode"] == "REPLACED"
    assert "&lt;b&gt;icy&lt;/b&gt;" in [
        n["notesActionComments"] for n in document["notesComponent"]
    ]
    component = document["incidentComponent"]
    assert component["incidentStatusCommonRegistryText"] == ["Closed"]
    assert component["dispositionComponent"][0]["dispositionCommonRegistryCode"] == "01"
    merged_away = eido.export_incident(absorbed)
    assert merged_away["mergeComponent"][0]["incidentMergeDirectionCode"] == "REPLACING"
