"""Agency scoping: own agency and the agencies below it, statewide for statewide.view, nothing
for anonymous or agency-less users, and 404 (not 403) for what lies outside."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from despp.core import tokens
from despp.core.models import Agency, AgencyKind, ApiToken, User
from despp.core.scoping import get_scoped_or_404, scope_to_agency

pytestmark = pytest.mark.django_db


def _staff_of(agency_code: str, username: str) -> User:
    return User.objects.create(username=username, agency=Agency.objects.get(code=agency_code))


@pytest.fixture
def rows(agencies):
    """One user (the scoped 'rows') in each of a few agencies."""
    return {
        code: _staff_of(code, f"row-{code}")
        for code in ("csp", "csp-troop-c", "csp-troop-f", "dss-lab", "pd-hartford")
    }


def _visible(queryset, user) -> set[str]:
    return set(
        scope_to_agency(queryset, user)
        .filter(username__startswith="row-")
        .values_list("username", flat=True)
    )


def test_a_trooper_sees_only_rows_of_their_own_troop(rows, trooper):
    assert _visible(User.objects.all(), trooper) == {"row-csp-troop-c"}


def test_state_police_headquarters_sees_the_rows_of_every_troop_below_it(rows, records):
    assert records.agency.code == "csp"
    assert _visible(User.objects.all(), records) == {
        "row-csp",
        "row-csp-troop-c",
        "row-csp-troop-f",
    }


def test_a_role_with_statewide_view_sees_every_agency(rows, auditor, emergency):
    everyone = {f"row-{code}" for code in rows}
    assert _visible(User.objects.all(), auditor) == everyone
    assert _visible(User.objects.all(), emergency) == everyone


def test_anonymous_inactive_and_agencyless_users_see_nothing(rows, trooper):
    agencyless = User.objects.create(username="drifter")
    trooper.is_active = False
    for user in (AnonymousUser(), agencyless, trooper, None):
        assert _visible(User.objects.all(), user) == set()


def test_scoping_follows_a_lookup_path_through_related_rows(rows, trooper, trooper_f):
    mine = tokens.issue_token(rows["csp-troop-c"], "troop C client").token
    tokens.issue_token(rows["csp-troop-f"], "troop F client")
    scoped = scope_to_agency(ApiToken.objects.all(), trooper, agency_field="user__agency")
    assert list(scoped) == [mine]
    other = scope_to_agency(ApiToken.objects.all(), trooper_f, agency_field="user__agency")
    assert [token.name for token in other] == ["troop F client"]


def test_an_object_in_another_agency_is_not_found_rather_than_forbidden(rows, trooper):
    own = get_scoped_or_404(User.objects.all(), trooper, pk=rows["csp-troop-c"].pk)
    assert own == rows["csp-troop-c"]
    with pytest.raises(Http404):
        get_scoped_or_404(User.objects.all(), trooper, pk=rows["csp-troop-f"].pk)
    # ...exactly as for an object that does not exist at all.
    with pytest.raises(Http404):
        get_scoped_or_404(User.objects.all(), trooper, pk=10**9)


def test_the_agency_tree_is_read_once_per_user_object(rows, records, django_assert_num_queries):
    with django_assert_num_queries(2):  # the roles, then the agency tree
        visible = scope_to_agency(Agency.objects.all(), records, agency_field="pk")
    with django_assert_num_queries(0):
        scope_to_agency(User.objects.all(), records)
    assert {agency.code for agency in visible} == _under("csp")


def _under(code: str) -> set[str]:
    """Codes of the agency and its descendants, found by walking each agency's parents."""
    parents = dict(Agency.objects.values_list("code", "parent__code"))
    found = set()
    for start in parents:
        node: str | None = start
        while node is not None and node != code:
            node = parents[node]
        if node == code:
            found.add(start)
    return found


def test_a_cycle_typed_into_the_agency_tree_does_not_hang_scoping(agencies, trooper):
    troop_c = agencies["csp-troop-c"]
    loop = Agency.objects.create(code="loop", name="Loop", kind=AgencyKind.DIVISION, parent=troop_c)
    Agency.objects.filter(pk=troop_c.pk).update(parent=loop)
    staff = _staff_of("loop", "row-loop")
    assert _visible(User.objects.all(), trooper) == {staff.username}
