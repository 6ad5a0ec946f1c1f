"""Incidents: officer-initiated and scheduled, numbering per PSAP per year, duplicates offered
instead of a new incident, link, merge and split with both timelines, notes, closing, cautions
and playback of the timeline."""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from despp.core.models import Agency, Event, User
from despp.dispatch import selectors
from despp.dispatch.models import (
    Assignment,
    AssignmentStatus,
    Call,
    Caution,
    CautionKind,
    Incident,
    IncidentStatus,
    Unit,
    UnitKind,
)
from despp.dispatch.services import (
    close_incident,
    create_incident,
    intake_call,
    merge_incidents,
    split_incident,
)
from despp.dispatch.services.assignments import change_status, dispatch_units
from tests.dispatch.calls_fixtures import (  # noqa: F401
    GOSHEN,
    MANSFIELD,
    TOLLAND,
    call_body,
    dispatch_data,
    reference_data,
    reference_snapshot,
)

pytestmark = pytest.mark.usefixtures("dispatch_data")
CT = ZoneInfo("America/New_York")


def post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def take_call(client: Client, **overrides: Any) -> dict[str, Any]:
    response = post(client, "/api/dispatch/calls", call_body(**overrides))
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def timeline(incident_id: int) -> list[str]:
    return list(
        Event.objects.filter(stream=f"incident:{incident_id}")
        .order_by("position")
        .values_list("kind", flat=True)
    )


def test_a_second_call_nearby_is_offered_the_open_incident_instead_of_a_new_one(
    calltaker: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    first = take_call(client)
    lat, lon = TOLLAND[0] + 0.001, TOLLAND[1]  # about 110 m north
    second = take_call(client, lat=lat, lon=lon, nature="FSMOKE")
    assert second["incident"] is None
    [candidate] = second["duplicates"]
    assert candidate["incident"]["id"] == first["incident"]["id"]
    assert 100 < candidate["distance_m"] < 125
    assert Incident.objects.count() == 1
    attached = post(
        client,
        f"/api/dispatch/calls/{second['call']['id']}/attach",
        {"incident": first["incident"]["id"]},
    )
    assert attached.status_code == 200, attached.content
    assert attached.json()["incident_id"] == first["incident"]["id"]
    assert timeline(first["incident"]["id"]) == ["incident.created", "call.attached"]


def test_duplicates_respect_distance_discipline_and_the_time_window(
    calltaker: User, sign_in: Any, settings: Any
) -> None:
    client = sign_in(calltaker)
    take_call(client)  # a structure fire (fire) in Tolland
    far = take_call(client, lat=TOLLAND[0] + 0.01, lon=TOLLAND[1])  # about 1.1 km
    assert far["duplicates"] == [] and far["incident"] is not None
    burglary = take_call(client, nature="BURGLARY")  # police: not the fire's
    assert burglary["duplicates"] == [] and burglary["incident"] is not None
    car_fire = take_call(client, nature="FVEH")  # fire: the fire's, not the burglary's
    assert [d["incident"]["nature"] for d in car_fire["duplicates"]] == ["FSTRU"]
    cardiac = take_call(client, nature="CARDIAC")  # EMS goes with fire and police alike
    assert sorted(d["incident"]["nature"] for d in cardiac["duplicates"]) == ["BURGLARY", "FSTRU"]
    settings.DESPP_DUPLICATE_RADIUS_M = 2000
    wide = take_call(client, lat=TOLLAND[0] + 0.01, lon=TOLLAND[1])["duplicates"]
    assert len(wide) == 2  # the fire and the far fire; never the burglary
    settings.DESPP_DUPLICATE_WINDOW_MIN = 0
    assert take_call(client)["duplicates"] == []


def test_asking_for_a_new_incident_despite_duplicates_opens_one(
    calltaker: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    take_call(client)
    again = take_call(client, new_incident=True)
    assert again["incident"] is not None
    assert again["duplicates"] == []


def test_numbers_run_per_psap_and_restart_each_year(
    calltaker: User, dispatcher_w: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def number(user: User, lat: float, lon: float) -> str:
        intake = intake_call(
            psap=None,
            callback_number="860-555-0100",
            class_of_service="wireline",
            lat=lat,
            lon=lon,
            call_taker=user,
            nature="FSTRU",
            new_incident=True,
        )
        assert intake.incident is not None
        return intake.incident.display_number

    late = datetime(2026, 12, 31, 23, 58, tzinfo=CT)  # 04:58 UTC on 1 January 2027
    monkeypatch.setattr(timezone, "now", lambda: late)
    numbers = [
        number(calltaker, *TOLLAND),
        number(calltaker, *MANSFIELD),
        number(dispatcher_w, *GOSHEN),
    ]
    assert numbers == ["26-000001", "26-000002", "26-000001"]
    monkeypatch.setattr(timezone, "now", lambda: late + timedelta(minutes=3))  # 2027 locally
    assert number(calltaker, *TOLLAND) == "27-000001"
    assert number(calltaker, *MANSFIELD) == "27-000002"
    assert number(dispatcher_w, *GOSHEN) == "27-000001"
    years = Incident.objects.filter(psap__code="psap-csp-eastern").values_list("year", "number")
    assert sorted(years) == [(2026, 1), (2026, 2), (2027, 1), (2027, 2)]


def test_an_officer_initiated_incident_goes_to_the_psap_serving_its_place(
    trooper: User, sign_in: Any
) -> None:
    response = post(
        sign_in(trooper),
        "/api/dispatch/incidents",
        {"nature": "TSTOP", "lat": MANSFIELD[0], "lon": MANSFIELD[1], "location_text": "Rt 195"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "officer"
    assert body["psap"] == "psap-csp-eastern"
    assert body["town"] == "Mansfield"
    assert body["priority"] == 3
    assert [event["kind"] for event in body["timeline"]] == ["incident.created"]


def test_a_scheduled_incident_needs_a_future_time(dispatcher: User, sign_in: Any) -> None:
    client = sign_in(dispatcher)
    base = {"nature": "STDBY", "source": "scheduled", "town": "Tolland"}
    before = Incident.objects.count()
    missing = post(client, "/api/dispatch/incidents", base)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "scheduled_for"
    past = post(client, "/api/dispatch/incidents", {**base, "scheduled_for": "2020-01-01T10:00Z"})
    assert past.json()["errors"][0]["field"] == "scheduled_for"
    assert Incident.objects.count() == before
    when = (timezone.now() + timedelta(days=2)).isoformat()
    made = post(client, "/api/dispatch/incidents", {**base, "scheduled_for": when})
    assert made.status_code == 201, made.content
    assert made.json()["source"] == "scheduled"
    assert made.json()["lat"] is None  # a town alone gives no invented point
    assert made.json()["town"] == "Tolland"


def test_the_incident_of_a_call_is_opened_once(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    call = take_call(sign_in(calltaker), nature=None)["call"]
    client = sign_in(dispatcher)
    first = post(client, "/api/dispatch/incidents", {"nature": "FALL", "call_id": call["id"]})
    assert first.status_code == 201, first.content
    assert first.json()["calls"] == 1
    again = post(client, "/api/dispatch/incidents", {"nature": "FALL", "call_id": call["id"]})
    assert again.status_code == 409


def test_merging_moves_calls_and_units_and_both_timelines_say_so(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    a = take_call(client)["incident"]["id"]
    b = take_call(client, new_incident=True)["incident"]["id"]
    engine = Unit.objects.create(
        call_sign="E41", kind=UnitKind.ENGINE, agency=Agency.objects.get(code="csp-troop-c")
    )
    dispatch_units(Incident.objects.get(pk=a), [engine], dispatcher)
    merged = post(sign_in(dispatcher), f"/api/dispatch/incidents/{a}/merge", {"into": b})
    assert merged.status_code == 200, merged.content
    assert merged.json()["id"] == b
    assert merged.json()["calls"] == 2
    assert [u["call_sign"] for u in merged.json()["units"]] == ["E41"]
    source = Incident.objects.get(pk=a)
    assert source.status == IncidentStatus.MERGED
    assert source.merged_into_id == b
    assert Call.objects.filter(incident_id=b).count() == 2
    assert Assignment.objects.get(unit=engine).incident_id == b
    assert timeline(a)[-1] == "incident.merged"
    assert timeline(b)[-1] == "incident.absorbed"
    merged_event = Event.objects.get(stream=f"incident:{a}", kind="incident.merged")
    assert merged_event.data["into"] == b and merged_event.data["units"] == ["E41"]
    again = post(sign_in(dispatcher), f"/api/dispatch/incidents/{a}/merge", {"into": b})
    assert again.status_code == 409
    assert selectors.incident_playback(source).status == "merged"
    assert selectors.incident_playback(Incident.objects.get(pk=b)).units == {"E41": "dispatched"}


def test_splitting_moves_the_named_calls_to_a_new_incident_and_both_timelines_say_so(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    first = take_call(client)
    second = take_call(client, attach_to=first["incident"]["id"])
    assert second["incident"]["id"] == first["incident"]["id"]
    source = first["incident"]["id"]
    split = post(
        sign_in(dispatcher),
        f"/api/dispatch/incidents/{source}/split",
        {"calls": [second["call"]["id"]], "nature": "MVA", "reason": "a crash, not the fire"},
    )
    assert split.status_code == 201, split.content
    new = split.json()
    assert new["id"] != source
    assert new["nature"] == "MVA"
    assert [c["id"] for c in new["call_list"]] == [second["call"]["id"]]
    assert Call.objects.filter(incident_id=source).count() == 1
    assert timeline(source)[-1] == "incident.split"
    assert timeline(new["id"]) == ["incident.created", "incident.split"]
    playback = selectors.incident_playback(Incident.objects.get(pk=source))
    assert playback.calls == [first["call"]["id"]]
    stray = post(
        sign_in(dispatcher), f"/api/dispatch/incidents/{source}/split", {"calls": [999999]}
    )
    assert stray.status_code == 422
    assert stray.json()["errors"][0]["field"] == "calls"


def test_linking_records_the_relation_on_both_timelines_once(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(calltaker)
    a = take_call(client)["incident"]["id"]
    b = take_call(client, new_incident=True)["incident"]["id"]
    d = sign_in(dispatcher)
    linked = post(d, f"/api/dispatch/incidents/{a}/link", {"other": b, "reason": "same driver"})
    assert linked.status_code == 200, linked.content
    assert linked.json()["links"][0]["incident"] == b
    assert timeline(a)[-1] == timeline(b)[-1] == "incident.linked"
    again = post(d, f"/api/dispatch/incidents/{b}/link", {"other": a, "reason": "again"})
    assert again.status_code == 409


def test_an_incident_with_a_unit_still_on_it_cannot_be_closed(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    incident_id = take_call(sign_in(calltaker))["incident"]["id"]
    incident = Incident.objects.get(pk=incident_id)
    car = Unit.objects.create(
        call_sign="C-12", kind=UnitKind.TROOP_CAR, agency=Agency.objects.get(code="csp-troop-c")
    )
    [assignment] = dispatch_units(incident, [car], dispatcher)
    client = sign_in(dispatcher)
    before = (Event.objects.count(), Incident.objects.get(pk=incident_id).status)
    refused = post(client, f"/api/dispatch/incidents/{incident_id}/close", {"disposition": "RPT"})
    assert refused.status_code == 409
    assert "C-12" in refused.json()["detail"]
    assert (Event.objects.count(), Incident.objects.get(pk=incident_id).status) == before
    change_status(assignment, AssignmentStatus.CLEARED, dispatcher)
    unknown = post(client, f"/api/dispatch/incidents/{incident_id}/close", {"disposition": "ZZZ"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "disposition"
    closed = post(
        client,
        f"/api/dispatch/incidents/{incident_id}/close",
        {"disposition": "FEXT", "note": "kitchen fire out"},
    )
    assert closed.status_code == 200, closed.content
    assert closed.json()["status"] == "closed"
    assert closed.json()["disposition"] == "FEXT"
    assert timeline(incident_id)[-1] == "incident.closed"
    assert (
        post(
            client, f"/api/dispatch/incidents/{incident_id}/close", {"disposition": "RPT"}
        ).status_code
        == 409
    )
    playback = selectors.incident_playback(Incident.objects.get(pk=incident_id))
    assert playback.status == "closed" and playback.disposition == "FEXT"
    assert playback.units == {"C-12": "cleared"}


def test_notes_go_on_the_timeline_and_playback_stops_at_a_moment(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    incident_id = take_call(sign_in(calltaker))["incident"]["id"]
    client = sign_in(dispatcher)
    note = post(client, f"/api/dispatch/incidents/{incident_id}/notes", {"text": "smoke showing"})
    assert note.status_code == 201
    assert note.json()["data"]["text"] == "smoke showing"
    empty = post(client, f"/api/dispatch/incidents/{incident_id}/notes", {"text": "  "})
    assert empty.status_code == 422
    incident = Incident.objects.get(pk=incident_id)
    created_at = Event.objects.get(stream=f"incident:{incident_id}", position=1).at
    assert selectors.incident_playback(incident, created_at).notes == []
    assert selectors.incident_playback(incident).notes == ["smoke showing"]
    url = f"/api/dispatch/incidents/{incident_id}/playback"
    then = client.get(url, {"at": created_at.isoformat()}).json()
    assert then["notes"] == [] and then["events"] == 1 and then["status"] == "pending"
    assert client.get(url).json()["notes"] == ["smoke showing"]


def test_cautions_near_the_place_are_shown_with_the_call_and_recorded_on_the_incident(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    Caution.objects.create(
        kind=CautionKind.PREMISE,
        text="Dog on premises; resident known to resist",
        lat=TOLLAND[0],
        lon=TOLLAND[1],
        radius_m=100,
        agency=Agency.objects.get(code="csp-troop-c"),
        created_by=dispatcher,
    )
    Caution.objects.create(
        kind=CautionKind.PREMISE,
        text="Expired",
        lat=TOLLAND[0],
        lon=TOLLAND[1],
        agency=Agency.objects.get(code="csp-troop-c"),
        created_by=dispatcher,
        expires_at=timezone.now() - timedelta(days=1),
    )
    made = take_call(sign_in(calltaker))
    assert [c["text"] for c in made["cautions"]] == ["Dog on premises; resident known to resist"]
    created = Event.objects.get(stream=f"incident:{made['incident']['id']}", position=1)
    assert created.data["cautions"][0]["text"].startswith("Dog on premises")
    detail = sign_in(dispatcher).get(f"/api/dispatch/incidents/{made['incident']['id']}")
    assert [c["kind"] for c in detail.json()["cautions"]] == ["premise"]
    away = take_call(sign_in(calltaker), lat=TOLLAND[0] + 0.01, lon=TOLLAND[1])
    assert away["cautions"] == []
    Caution.objects.create(
        kind=CautionKind.PERSON,
        text="Known to carry a knife",
        person_name="Jordan Example",
        agency=Agency.objects.get(code="csp-troop-c"),
        created_by=dispatcher,
    )
    named = take_call(
        sign_in(calltaker), lat=TOLLAND[0] + 0.02, lon=TOLLAND[1], persons=["jordan example"]
    )
    assert [c["kind"] for c in named["cautions"]] == ["person"]


def test_a_service_caller_can_open_an_incident_without_the_api(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    call_id = take_call(sign_in(calltaker), nature=None)["call"]["id"]
    incident = create_incident(nature="ODOR", user=dispatcher, call=Call.objects.get(pk=call_id))
    assert incident.source == "call"
    assert Call.objects.get(pk=call_id).incident_id == incident.pk
    other = create_incident(nature="ODOR", user=dispatcher, town="Tolland")
    merge_incidents(other, incident, dispatcher)
    with pytest.raises(Exception, match="merged"):
        close_incident(other, "RPT", dispatcher)
    new = split_incident(incident, [call_id], dispatcher)
    assert Call.objects.get(pk=call_id).incident_id == new.pk
