"""/api/dispatch: CAD-to-CAD interchange as NENA EIDO JSON (NENA-STA-021.1).

GET /incidents/{id}/eido: the incident as an EIDO document (`incident.view`; another PSAP's
incident is a 404; the read is audited). POST /eido: receive an incident from another CAD
(`call.create`) at your PSAP, or at `?psap=` (a PSAP in your scope). A document that fails the
schema or our checks is a 422 whose `errors` name the JSON path of each problem (`field`,
e.g. `$.callComponent[0].direction`); a document already received at that PSAP is a 409.
"""

import json

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from ninja.errors import AuthenticationError, ValidationError
from pydantic import ConfigDict, Field

from despp.core import audit
from despp.core.api_auth import staff_auth
from despp.core.api_parsing import StrictJSONParser
from despp.core.models import Agency, AuditAction, User
from despp.core.permissions import Action, require
from despp.dispatch import eido, selectors
from despp.dispatch.selectors_reports import ReportNotFound, psap_for

router = Router(auth=staff_auth, tags=["dispatch: EIDO interchange"])
EIDO_MEDIA_TYPE = "application/json"


def _caller(request: HttpRequest, action: Action) -> User:
    user = getattr(request, "auth", None)
    if not isinstance(user, User):
        raise AuthenticationError()
    require(user, action, request=request)
    return user


@router.get("/incidents/{incident_id}/eido", summary="An incident as a NENA EIDO document")
def incident_eido(request: HttpRequest, incident_id: int) -> HttpResponse:
    user = _caller(request, Action.INCIDENT_VIEW)
    incident = selectors.incident_for(user, incident_id)
    document = eido.export_incident(incident)
    audit.record(
        AuditAction.READ, request=request, object_type="incident", object_id=incident.pk,
        detail={"as": "eido"},
    )  # fmt: skip
    return HttpResponse(json.dumps(document), content_type=EIDO_MEDIA_TYPE)


class ImportQuery(Schema):
    model_config = ConfigDict(extra="forbid")

    psap: str = Field("", max_length=60, description="receiving PSAP code; default: your agency")


class ImportedOut(Schema):
    incident: int
    number: str
    psap: str
    eido_id: str
    nature: str
    priority: int


def _receiving_psap(user: User, code: str) -> Agency:
    wanted = code or (user.agency.code if user.agency else "")
    try:
        return psap_for(user, wanted)
    except ReportNotFound as exc:
        if code:
            raise Http404("No PSAP you may see has that code.") from exc
        raise ValidationError(
            [
                {
                    "loc": ("query", "psap"),
                    "msg": "your agency is not a PSAP: name one",
                    "type": "missing",
                }
            ]
        ) from exc


@router.post(
    "/eido",
    response={201: ImportedOut},
    summary="Receive an incident from another CAD (NENA EIDO document)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {EIDO_MEDIA_TYPE: {"schema": {"type": "object"}}},
        }
    },
)
def import_eido(request: HttpRequest, query: Query[ImportQuery]) -> Status:
    user = _caller(request, Action.CALL_CREATE)
    psap = _receiving_psap(user, query.psap)
    document = StrictJSONParser().parse_body(request)
    try:
        incident = eido.import_document(document, psap=psap, user=user, request=request)
    except eido.EidoInvalid as exc:
        raise ValidationError(
            [{"loc": ("body", e.path), "msg": e.message, "type": e.code} for e in exc.errors]
        ) from exc
    return Status(
        201,
        {
            "incident": incident.pk,
            "number": incident.display_number,
            "psap": psap.code,
            "eido_id": incident.eido_id,
            "nature": incident.nature.code,
            "priority": incident.priority,
        },
    )
