"""A URLconf whose API is built exactly like /api/ (DesppAPI) with a few operations that write,
so the problem+json tests can prove that refused requests write nothing. Today's real API has
no JSON-body operation yet; the plumbing under test is the same class."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, HttpRequest
from django.urls import path
from ninja import Router, Schema, Status
from pydantic import Field

from despp.api import DesppAPI
from despp.core import eventlog
from despp.core.api_auth import staff_auth
from despp.core.errors import Conflict

router = Router()


class NarrativeIn(Schema):
    incident: int = Field(ge=1, le=1_000_000_000)
    narrative: str = Field(min_length=1, max_length=500)
    units: list[str] = Field(default_factory=list, max_length=10)


class Appended(Schema):
    seq: int


@router.post("/narratives", response={201: Appended})
def add_narrative(request: HttpRequest, payload: NarrativeIn) -> Status[Appended]:
    event = eventlog.append(f"incident:{payload.incident}", "narrative.added", payload.model_dump())
    return Status(201, Appended(seq=event.seq))


@router.post("/units/{unit}/assign", response={201: Appended})
def assign_unit(request: HttpRequest, unit: str) -> Status[Appended]:
    with transaction.atomic():
        eventlog.append(f"unit:{unit}", "unit.assigned", {"incident": 42})
        raise Conflict(f"Unit {unit} is already on scene.", current_state="on_scene")


@router.post("/calls", response={201: Appended})
def take_call(request: HttpRequest, payload: NarrativeIn) -> Status[Appended]:
    raise DjangoValidationError({"narrative": ["Describe what the caller reports."]})


@router.get("/async-units/{unit}")
async def async_unit(request: HttpRequest, unit: str) -> dict[str, str]:
    if unit != "A12":
        raise Http404(f"No unit {unit}.")
    return {"unit": unit}


@router.get("/boom")
def boom(request: HttpRequest) -> dict[str, str]:
    raise RuntimeError("database password is hunter2")


@router.get("/forbidden")
def forbidden(request: HttpRequest) -> dict[str, str]:
    raise PermissionDenied("Only supervisors may do this.")


@router.get("/private", auth=staff_auth)
def private(request: HttpRequest) -> dict[str, str]:
    return {"ok": "yes"}


probe_api = DesppAPI(title="probe", version="test", urls_namespace="probe")
probe_api.add_router("/", router)

urlpatterns = [path("api/", probe_api.urls)]
