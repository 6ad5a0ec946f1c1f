"""Two dispatchers send the same unit to two incidents at the same moment (PostgreSQL: real
concurrent connections). One wins; the other gets a 409 naming where the unit is committed;
the unit ends up on exactly one incident."""

import threading
from typing import Any

import pytest
from django.db import connection

from despp.core.errors import Conflict
from despp.core.models import User
from despp.dispatch.models import COMMITTED_STATUSES, Assignment, AssignmentStatus, Incident
from despp.dispatch.services.assignments import change_status, dispatch_units
from tests.dispatch import unit_helpers as make
from tests.personas import ensure_agencies, make_persona

ON_POSTGRESQL = connection.vendor == "postgresql"
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not ON_POSTGRESQL,
        reason="needs concurrent connections; SQLite's test database serialises them anyway",
    ),
]


def _race(work: list[Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(work))
    results: list[Any] = []
    failures: list[BaseException] = []

    def run(job: Any) -> None:
        try:
            barrier.wait()
            results.append(job())
        except BaseException as exc:  # reported to the main thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures


@pytest.mark.parametrize("attempt", range(5))
def test_two_dispatchers_racing_for_one_unit_one_wins_the_other_gets_a_409(attempt: int) -> None:
    agencies = ensure_agencies()
    user: User = make_persona("dispatcher")
    unit = make.unit(f"C-R{attempt}", agencies["csp-troop-c"])
    first = make.incident(agencies["psap-csp-eastern"])
    second = make.incident(agencies["psap-csp-eastern"])

    results, failures = _race(
        [
            lambda: dispatch_units(Incident.objects.get(pk=first.pk), [unit], user),
            lambda: dispatch_units(Incident.objects.get(pk=second.pk), [unit], user),
        ]
    )

    assert len(results) == 1 and len(failures) == 1
    [lost] = failures
    assert isinstance(lost, Conflict), repr(lost)
    winner = results[0][0].incident
    assert f"C-R{attempt} is dispatched at incident {winner.display_number}" in lost.detail
    assert Assignment.objects.filter(unit=unit, status__in=COMMITTED_STATUSES).count() == 1
    assert Assignment.objects.filter(unit=unit).count() == 1


def test_a_status_change_racing_a_reassignment_never_leaves_the_unit_on_two_incidents() -> None:
    agencies = ensure_agencies()
    user: User = make_persona("dispatcher")
    unit = make.unit("C-RR", agencies["csp-troop-c"])
    first = make.incident(agencies["psap-csp-eastern"])
    second = make.incident(agencies["psap-csp-eastern"])
    [assignment] = dispatch_units(first, [unit], user)

    results, failures = _race(
        [
            lambda: change_status(
                Assignment.objects.get(pk=assignment.pk), AssignmentStatus.ON_SCENE, user
            ),
            lambda: dispatch_units(Incident.objects.get(pk=second.pk), [unit], user, reassign=True),
        ]
    )

    assert all(isinstance(failure, Conflict) for failure in failures), failures
    assert len(results) + len(failures) == 2
    assert Assignment.objects.filter(unit=unit, status__in=COMMITTED_STATUSES).count() == 1
    assert Assignment.objects.get(pk=assignment.pk).status in (
        AssignmentStatus.CLEARED,
        AssignmentStatus.ON_SCENE,
    )
