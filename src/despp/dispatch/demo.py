"""Demo dispatch floor (development data only; `despp load-demo` runs it, refused in production).

First the units engineer's demo agencies, stations and units (`demo_units.load_units`), then
a few cautions, open incidents at the demo dispatcher's PSAP (CSP Eastern District Dispatch)
with their 911 calls, a second call attached to the structure fire, a scheduled escort, and an
abandoned call waiting in the callback queue. Everything goes through the services, so each
incident has its timeline. Idempotent: calls carry `demo-…` source_refs (a second run finds
them), cautions are matched by text, the scheduled incident by its location text.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from despp.core.errors import Conflict
from despp.core.models import Agency, User
from despp.dispatch.models import Call, CallStatus, Caution, CautionKind, CommonPlace, Incident
from despp.dispatch.services import abandon_call, create_incident, intake_call

PSAP = "psap-csp-eastern"


@dataclass(frozen=True)
class DemoCall:
    ref: str
    minutes_ago: int
    nature: str | None
    lat: float | None
    lon: float | None
    text: str
    number: str
    service: str = "wireless"
    place: str | None = None
    answered: bool = True


CALLS = (
    DemoCall("demo-call-1", 14, "FSTRU", 41.87110, -72.36920, "smoke from a house on Rt 74",
             "860-555-0141"),
    DemoCall("demo-call-2", 9, "MVAINJY", None, None, "two cars, one on its roof, I-84 east",
             "860-555-0172", place="I-84 mile 75"),
    DemoCall("demo-call-3", 6, "DVA", 41.80550, -72.24860, "screaming next door, Storrs Rd",
             "860-555-0133", "wireline"),
    DemoCall("demo-call-4", 4, "CARDIAC", 41.57530, -72.33210, "my father collapsed",
             "860-555-0190", "voip"),
    DemoCall("demo-call-5", 2, "ALRBA", 41.80630, -71.88510, "alarm company: zone 3 front door",
             "800-555-0111", "ten_digit"),
    DemoCall("demo-call-6", 12, "FSMOKE", 41.87180, -72.36870,
             "neighbour: black smoke behind the trees", "860-555-0155"),
)  # fmt: skip
ABANDONED = DemoCall(
    "demo-call-7", 3, None, 41.91500, -72.26700, "", "860-555-0199", answered=False
)
CAUTIONS = (
    (41.87110, -72.36920, "Oxygen in use at this address; resident on home dialysis"),
    (41.80550, -72.24860, "Prior domestic calls; firearm reported in the house (2025)"),
)


def _user(username: str) -> User | None:
    return User.objects.filter(username=username).first()


def _units() -> str:
    try:
        from despp.dispatch.demo_units import load_units
    except ImportError:
        return "units: not built yet"
    return load_units()


def _cautions(author: User) -> int:
    agency = author.agency or Agency.objects.get(code=PSAP)
    made = 0
    for lat, lon, text in CAUTIONS:
        _, created = Caution.objects.get_or_create(
            text=text,
            defaults={
                "kind": CautionKind.PREMISE,
                "lat": lat,
                "lon": lon,
                "radius_m": 60,
                "agency": agency,
                "created_by": author,
            },
        )
        made += created
    return made


def _take(demo: DemoCall, taker: User | None, **extra: Any) -> Call:
    received = timezone.now() - timedelta(minutes=demo.minutes_ago)
    place = CommonPlace.objects.filter(name=demo.place).first() if demo.place else None
    intake = intake_call(
        psap=Agency.objects.get(code=PSAP),
        callback_number=demo.number,
        class_of_service=demo.service,
        lat=demo.lat,
        lon=demo.lon,
        uncertainty_m=25 if demo.lat is not None else None,
        place_id=place.pk if place else None,
        location_text=demo.text,
        received_at=received,
        answered_at=received + timedelta(seconds=7) if demo.answered else None,
        call_taker=taker,
        source_ref=demo.ref,
        nature=demo.nature,
        **extra,
    )
    return intake.call


def load_demo_data() -> str:
    summary = [_units()]
    taker = _user("calltaker")
    dispatcher = _user("dispatcher")
    if taker is None or dispatcher is None or not Agency.objects.filter(code=PSAP).exists():
        return "; ".join([*summary, "calls: skipped (no demo users or PSAP yet)"])
    with transaction.atomic():
        cautions = _cautions(dispatcher)
        before = Call.objects.filter(source_ref__startswith="demo-").count()
        fire: Incident | None = None
        for demo in CALLS:
            if demo.ref == "demo-call-6" and fire is not None:
                try:  # a second caller about the structure fire joins its incident
                    _take(demo, taker, attach_to=fire)
                except Conflict:  # someone closed the fire since: a call of its own
                    _take(demo, taker, new_incident=True)
                continue
            call = _take(demo, taker, new_incident=True)
            if demo.ref == "demo-call-1" and call.incident_id is not None:
                fire = Incident.objects.get(pk=call.incident_id)
        abandoned = _take(ABANDONED, None)
        if abandoned.status == CallStatus.RINGING:  # the caller hung up before an answer
            abandon_call(abandoned, None, at=abandoned.received_at + timedelta(seconds=11))
        escort = "UConn Storrs campus: funeral escort, Route 195"
        if not Incident.objects.filter(location_text=escort).exists():
            storrs = CommonPlace.objects.filter(name="UConn Storrs campus").first()
            create_incident(
                nature="STDBY",
                user=dispatcher,
                source="scheduled",
                place_id=storrs.pk if storrs else None,
                town=None if storrs else "Mansfield",
                location_text=escort,
                scheduled_for=timezone.now() + timedelta(days=1, hours=2),
            )
        made = Call.objects.filter(source_ref__startswith="demo-").count() - before
    open_here = Incident.objects.filter(psap__code=PSAP, status__in=["pending", "active"]).count()
    summary.append(
        f"calls: {made} new; cautions: {cautions} new; open incidents at {PSAP}: {open_here}; "
        f"callback queue: {Call.objects.filter(callback_status='pending').count()}"
    )
    return "; ".join(summary)
