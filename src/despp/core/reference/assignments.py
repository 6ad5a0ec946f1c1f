"""Administrators' corrections to a town's jurisdiction (troop, PSAP, policing, police agency).

A corrected fact gets provenance `override` and the administrator's reason as its basis, and
the loader never changes it again. Facts that follow from the corrected ones and were not
themselves sourced or overridden (the police agency; a derived PSAP) are worked out again
with the same rules the loader uses. Each correction appends an event on the town's stream
`town:<2020 FIPS>` and writes an access-audit row, in the same transaction.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from despp.core import audit, eventlog
from despp.core.models import (
    Agency,
    AgencyKind,
    AuditAction,
    Policing,
    Provenance,
    Town,
    Troop,
)
from despp.core.permissions import Action, can
from despp.core.reference.facts import (
    Fact,
    TroopDispatch,
    derive_police_agency,
    derive_psap,
    own_pd_code,
    own_pd_psap_code,
    sources_of,
)
from despp.core.reference.loader import bump_revision

MAX_REASON_LENGTH = 1000
_POLICE_KINDS = {
    Policing.MUNICIPAL: {AgencyKind.MUNICIPAL_POLICE},
    Policing.SPLIT: {AgencyKind.MUNICIPAL_POLICE},
    Policing.STATE_POLICE: {AgencyKind.TROOP},
}


@dataclass(frozen=True)
class Assignment:
    """A validated correction: only the fields being set are not None."""

    policing: Policing | None
    troop: Troop | None
    police_agency: Agency | None
    psap: Agency | None
    reason: str


def may_correct(user: Any) -> bool:
    """Holders of the reference.edit action (system administrators) and superusers."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser) or can(user, Action.REFERENCE_EDIT)


def _agency(value: Agency | str, field: str, kinds: set[AgencyKind], what: str) -> Agency:
    agency = value if isinstance(value, Agency) else Agency.objects.filter(code=value).first()
    if agency is None:
        raise ValidationError({field: f"no agency has the code {value!r}"})
    if agency.kind not in kinds or not agency.active:
        raise ValidationError({field: f"{agency.code} is not an active {what}"})
    return agency


def clean_town_assignment(
    town: Town,
    *,
    troop: Troop | str | None = None,
    psap: Agency | str | None = None,
    policing: Policing | str | None = None,
    police_agency: Agency | str | None = None,
    reason: str = "",
) -> Assignment:
    """Validate a correction without writing anything; raises ValidationError per field."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "say why the assignment is being changed"})
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationError({"reason": f"at most {MAX_REASON_LENGTH} characters"})
    if troop is None and psap is None and policing is None and police_agency is None:
        raise ValidationError(
            {NON_FIELD_ERRORS: "set at least one of troop, psap, policing, police_agency"}
        )
    if policing is not None and policing not in Policing.values:
        raise ValidationError({"policing": f"must be one of {', '.join(Policing.values)}"})
    troop_row = None
    if troop is not None:
        troop_row = troop if isinstance(troop, Troop) else Troop.objects.filter(code=troop).first()
        if troop_row is None:
            raise ValidationError({"troop": f"no troop has the code {troop!r}"})
    effective_policing = Policing(policing or town.policing)
    agency = None
    if police_agency is not None:
        agency = _agency(
            police_agency,
            "police_agency",
            _POLICE_KINDS[effective_policing],
            f"police agency for a {effective_policing.label} town",
        )
    psap_row = _agency(psap, "psap", {AgencyKind.PSAP}, "PSAP") if psap is not None else None
    return Assignment(
        policing=Policing(policing) if policing is not None else None,
        troop=troop_row,
        police_agency=agency,
        psap=psap_row,
        reason=reason,
    )


def _dispatch() -> dict[str, TroopDispatch]:
    dispatch = {}
    for troop in Troop.objects.select_related("dispatch_center"):
        center = troop.dispatch_center
        if center is not None:
            dispatch[troop.code] = TroopDispatch(
                center=center.code,
                center_name=center.name,
                provenance=Provenance(troop.dispatch_center_provenance),
                basis=troop.dispatch_center_basis,
                sources=sources_of(center.sources),
            )
    return dispatch


def _rederive(town: Town, assignment: Assignment, basis: str) -> None:
    """Recompute the police agency and a non-sourced PSAP from the corrected facts."""
    if assignment.policing is None and assignment.troop is None:
        return
    policing = Fact(town.policing, Provenance(town.policing_provenance), "")
    troop = Fact(town.troop.code if town.troop else "", Provenance(town.troop_provenance), "")
    codes = [own_pd_code(town.name), own_pd_psap_code(town.name)]
    found = {a.code: a for a in Agency.objects.filter(code__in=codes)}
    own_pd = codes[0] if codes[0] in found else ""
    own_psap = codes[1] if codes[1] in found else ""
    names = {code: agency.name for code, agency in found.items()}
    if assignment.police_agency is None and town.police_agency_provenance != Provenance.OVERRIDE:
        try:
            fact = derive_police_agency(policing, troop, own_pd, names)
        except ValueError as exc:
            raise ValidationError({"police_agency": f"{exc}; set the police agency too"}) from exc
        town.police_agency = Agency.objects.get(code=fact.value)
        town.police_agency_provenance = fact.provenance
        town.police_agency_basis = f"{fact.basis} Follows: {basis}"
    keep = {Provenance.SOURCED, Provenance.OVERRIDE}
    if assignment.psap is None and town.psap_provenance not in keep:
        dispatch = _dispatch()
        names.update({d.center: d.center_name for d in dispatch.values()})
        try:
            fact = derive_psap(
                policing=policing,
                troop=troop,
                troop_sources=frozenset(),  # an overridden troop is not a sourced one
                own_pd_psap=own_psap,
                sourced_psap=None,
                dispatch=dispatch,
                agency_names=names,
            )
        except ValueError as exc:
            raise ValidationError({"psap": f"{exc}; set the PSAP too"}) from exc
        town.psap = Agency.objects.get(code=fact.value)
        town.psap_provenance = fact.provenance
        town.psap_basis = f"{fact.basis} Follows: {basis}"


def _snapshot(town: Town) -> dict[str, Any]:
    return {
        "policing": [town.policing, town.policing_provenance],
        "troop": [town.troop.code if town.troop else None, town.troop_provenance],
        "police_agency": [town.police_agency.code, town.police_agency_provenance],
        "psap": [town.psap.code if town.psap else None, town.psap_provenance],
    }


def set_town_assignment(
    town: Town,
    *,
    troop: Troop | str | None = None,
    psap: Agency | str | None = None,
    policing: Policing | str | None = None,
    police_agency: Agency | str | None = None,
    reason: str,
    actor: Any,
    request: HttpRequest | None = None,
) -> Town:
    """Correct one or more of a town's assignments (see the module docstring)."""
    from despp.core import jurisdiction

    if actor is None or not actor.is_authenticated or not actor.has_perm("core.change_town"):
        raise PermissionDenied(
            "changing a town's assignments needs the core.change_town permission"
        )
    assignment = clean_town_assignment(
        town, troop=troop, psap=psap, policing=policing, police_agency=police_agency, reason=reason
    )
    with transaction.atomic():
        town = Town.objects.select_for_update().get(pk=town.pk)
        before = _snapshot(town)
        basis = (
            f"Set by {actor.get_username()} on {timezone.localdate():%Y-%m-%d}: {assignment.reason}"
        )
        changed = []
        for field in ("policing", "troop", "police_agency", "psap"):
            value = getattr(assignment, field)
            if value is None:
                continue
            setattr(town, field, value)
            setattr(town, f"{field}_provenance", Provenance.OVERRIDE)
            setattr(town, f"{field}_basis", basis)
            changed.append(field)
        _rederive(town, assignment, basis)
        if town.policing == Policing.STATE_POLICE and town.troop is None:
            raise ValidationError({"troop": "a State Police town needs a troop"})
        if town.police_agency.kind not in _POLICE_KINDS[Policing(town.policing)]:
            raise ValidationError(
                {
                    "police_agency": f"{town.police_agency.code} cannot police a "
                    f"{Policing(town.policing).label} town; set the police agency too"
                }
            )
        town.full_clean(exclude=["boundary"])
        town.save()
        after = _snapshot(town)
        detail = {
            "town": town.name,
            "fips_2020": town.fips_2020,
            "set": changed,
            "before": before,
            "after": after,
            "reason": assignment.reason,
        }
        eventlog.append(f"town:{town.fips_2020}", "town.assignment_overridden", detail, actor=actor)
        audit.record(
            AuditAction.UPDATE,
            request=request,
            user=actor,
            object_type="town",
            object_id=town.pk,
            detail=detail,
        )
        bump_revision()
        transaction.on_commit(jurisdiction.invalidate)
    jurisdiction.invalidate()
    return town
