"""Agency scoping for selectors: a user sees their own agency's rows and those of the agencies
under it (State Police headquarters sees every troop), unless a role grants statewide.view.

An object outside the caller's scope is reported as missing (404), never as forbidden (403), so
a probe cannot learn that a record exists in another agency.
"""

from collections import defaultdict
from typing import Any, TypeVar

from django.core.exceptions import MultipleObjectsReturned
from django.db import models
from django.http import Http404

from despp.core.models import Agency
from despp.core.permissions import Action, can

M = TypeVar("M", bound=models.Model)

_SCOPE_CACHE = "_despp_agency_scope"


def agency_and_descendants(agency_id: int) -> frozenset[int]:
    """The agency and every agency below it, in one query over the (small) agency table."""
    children: defaultdict[int | None, list[int]] = defaultdict(list)
    for pk, parent_id in Agency.objects.values_list("pk", "parent_id"):
        children[parent_id].append(pk)
    found = {agency_id}
    pending = [agency_id]
    while pending:
        for child in children[pending.pop()]:
            if child not in found:  # a cycle an admin typed in must not loop forever
                found.add(child)
                pending.append(child)
    return frozenset(found)


def visible_agency_ids(user: Any) -> frozenset[int] | None:
    """Agencies whose rows the user may see; None means every agency (statewide.view)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if can(user, Action.STATEWIDE_VIEW):
        return None
    if user.agency_id is None:
        return frozenset()
    cached: frozenset[int] | None = getattr(user, _SCOPE_CACHE, None)
    if cached is None:
        cached = agency_and_descendants(user.agency_id)
        setattr(user, _SCOPE_CACHE, cached)
    return cached


def scope_to_agency(
    queryset: models.QuerySet[M], user: Any, agency_field: str = "agency"
) -> models.QuerySet[M]:
    """Only the rows whose `agency_field` (a FK to Agency, any lookup path) the user may see.

    Anonymous and agency-less users see nothing.
    """
    visible = visible_agency_ids(user)
    if visible is None:
        return queryset
    if not visible:
        return queryset.none()
    return queryset.filter(**{f"{agency_field}__in": visible})


def get_scoped_or_404(
    queryset: models.QuerySet[M], user: Any, agency_field: str = "agency", **lookup: Any
) -> M:
    """One object the user may see, or Http404 whether it is absent or out of scope."""
    found = list(scope_to_agency(queryset, user, agency_field).filter(**lookup)[:2])
    if not found:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.")
    if len(found) > 1:
        raise MultipleObjectsReturned(f"{lookup} matches more than one row")
    return found[0]
