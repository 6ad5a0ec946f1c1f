"""Look-ups the call and incident services share: a nature code by its code, the
jurisdiction answer recorded for a call, and which PSAP takes a located call."""

from django.core.exceptions import ValidationError

from despp.core.jurisdiction import Jurisdiction, locate
from despp.core.models import Agency, AgencyKind
from despp.dispatch.geo_search import ResolvedLocation, town_answers
from despp.dispatch.models import Call, NatureCode


def nature_by_code(code: str) -> NatureCode:
    found = NatureCode.objects.filter(code=code.strip().upper()).first()
    if found is None:
        raise ValidationError({"nature": f"{code!r} is not a nature code"})
    if not found.active:
        raise ValidationError({"nature": f"{found.code} is retired; pick another nature code"})
    return found


def answer_of(call: Call) -> Jurisdiction:
    """The jurisdiction answer recorded for a call (no new locate for in-state calls)."""
    cached: Jurisdiction | None = getattr(call, "_answer", None)
    if cached is not None:
        return cached
    if call.town_id is not None:
        found = town_answers().by_id.get(call.town_id)
        if found is not None:
            return found
    if call.lat is not None and call.lon is not None:
        return locate(call.lat, call.lon)
    return Jurisdiction(in_state=call.in_state)


def jurisdiction_of(call: Call) -> Jurisdiction:
    return answer_of(call)


def route(psap: Agency | None, where: ResolvedLocation) -> tuple[int, str]:
    if psap is not None:
        if psap.kind != AgencyKind.PSAP or not psap.active:
            raise ValidationError({"psap": f"{psap.code} is not an active PSAP"})
        return psap.pk, psap.code
    if where.psap_id is None or where.psap_code is None:
        town = where.answer.town or where.answer.nearest_town or "this location"
        raise ValidationError({"psap": f"no PSAP is recorded for {town}; name the PSAP"})
    return where.psap_id, where.psap_code


def answer_psap_code(call: Call, answer: Jurisdiction) -> str:
    """The PSAP code for event data without a query when the call was routed by location."""
    routed = getattr(call, "_where", None)
    if routed is not None and routed.psap_id == call.psap_id and routed.psap_code:
        return str(routed.psap_code)
    return str(call.psap.code)
