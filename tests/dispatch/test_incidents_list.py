"""GET /api/dispatch/incidents: open incidents the caller sees, most urgent first, filtered,
in a fixed number of queries however many there are."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from despp.core.models import Agency, User
from despp.dispatch.models import Incident, Unit, UnitKind
from despp.dispatch.services import close_incident, intake_call
from despp.dispatch.services.assignments import dispatch_units
from tests.dispatch.calls_fixtures import (  # noqa: F401
    GOSHEN,
    TOLLAND,
    dispatch_data,
    reference_data,
    reference_snapshot,
)

pytestmark = pytest.mark.usefixtures("dispatch_data")
URL = "/api/dispatch/incidents"


def open_incidents(
    user: User, count: int, nature: str = "FSTRU", at: tuple[float, float] = TOLLAND
) -> list[Incident]:
    made = []
    for i in range(count):
        intake = intake_call(
            psap=None,
            callback_number="860-555-0100",
            class_of_service="wireless",
            lat=at[0] + 0.02 * i,
            lon=at[1],
            call_taker=user,
            nature=nature,
            new_incident=True,
        )
        assert intake.incident is not None
        made.append(intake.incident)
    return made


def queries(client: Client, url: str, **params: Any) -> tuple[int, Any]:
    """Queries the endpoint made, leaving out the session's own refresh (it comes and goes
    with the idle clock, whatever the endpoint)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    ours = [
        query
        for query in captured.captured_queries
        if "django_session" not in query["sql"] and "SAVEPOINT" not in query["sql"]
    ]
    return len(ours), response.json()


def test_the_open_incident_list_costs_the_same_queries_for_three_or_thirty(
    calltaker: User, dispatcher: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    car = Unit.objects.create(
        call_sign="C-101", kind=UnitKind.TROOP_CAR, agency=Agency.objects.get(code="csp-troop-c")
    )
    first = open_incidents(calltaker, 3)
    dispatch_units(first[0], [car], dispatcher)
    few, rows = queries(client, URL)
    assert len(rows) == 3
    open_incidents(calltaker, 27, nature="ODOR")
    many, rows = queries(client, URL)
    assert len(rows) == 30
    assert many == few
    assert few <= 10  # user, device, roles, scope, incidents, calls, assignments, units, audit
    units = {row["id"]: [u["call_sign"] for u in row["units"]] for row in rows}
    assert units[first[0].pk] == ["C-101"]


def test_the_list_is_most_urgent_first_filtered_and_scoped(
    calltaker: User, dispatcher: User, dispatcher_w: User, sign_in: Any
) -> None:
    client = sign_in(dispatcher)
    odor = open_incidents(calltaker, 1, nature="ODOR")[0]  # P2
    fire = open_incidents(calltaker, 1, nature="FSTRU")[0]  # P1
    theft = open_incidents(calltaker, 1, nature="LARCENY")[0]  # P3
    closed = open_incidents(calltaker, 1, nature="NOISE")[0]
    close_incident(closed, "ADV", dispatcher)
    west = open_incidents(dispatcher_w, 1, nature="FSTRU", at=GOSHEN)[0]
    _, rows = queries(client, URL)
    assert [row["id"] for row in rows] == [fire.pk, odor.pk, theft.pk]
    _, police = queries(client, URL, discipline="police")
    assert [row["id"] for row in police] == [theft.pk]
    _, by_nature = queries(client, URL, nature="odor")
    assert [row["id"] for row in by_nature] == [odor.pk]
    _, west_rows = queries(sign_in(dispatcher_w), URL)
    assert [row["id"] for row in west_rows] == [west.pk]
    assert client.get(URL, {"priority": 9}).status_code == 422
    assert client.get(URL, {"discipline": "navy"}).status_code == 422


def test_reading_incidents_walks_the_permission_matrix(
    client: Client, calltaker: User, dispatcher_w: User, norole: User, sign_in: Any
) -> None:
    incident = open_incidents(calltaker, 1)[0]
    path = f"{URL}/{incident.pk}"
    assert client.get(URL).status_code == 401
    assert sign_in(norole).get(URL).status_code == 403
    assert sign_in(dispatcher_w).get(path).status_code == 404
    detail = sign_in(calltaker).get(path)
    assert detail.status_code == 200
    assert detail.json()["timeline"][0]["kind"] == "incident.created"
    assert detail.json()["call_list"][0]["incident_id"] == incident.pk


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("notes", {"text": "a note"}),
        ("close", {"disposition": "RPT"}),
        ("link", {"other": 0, "reason": "r"}),
        ("merge", {"into": 0}),
        ("split", {"calls": [0]}),
    ],
)
def test_incident_changes_walk_the_permission_matrix_and_refusals_write_nothing(
    action: str,
    body: dict[str, Any],
    client: Client,
    calltaker: User,
    dispatcher: User,
    dispatcher_w: User,
    norole: User,
    sign_in: Any,
) -> None:
    first, second = open_incidents(calltaker, 2)
    body = {
        key: (second.pk if value == 0 else [first.calls.get().pk] if value == [0] else value)
        for key, value in body.items()
    }
    path = f"{URL}/{first.pk}/{action}"
    from despp.core.models import Event

    before = (Event.objects.count(), list(Incident.objects.values_list("status", flat=True)))

    def post(c: Client) -> int:
        return int(c.post(path, body, content_type="application/json").status_code)

    assert post(client) == 401
    assert post(sign_in(norole)) == 403
    assert post(sign_in(calltaker)) == 403  # a call-taker does not change incidents
    assert post(sign_in(dispatcher_w)) == 404
    assert (
        Event.objects.count(),
        list(Incident.objects.values_list("status", flat=True)),
    ) == before
    assert post(sign_in(dispatcher)) in (200, 201)
