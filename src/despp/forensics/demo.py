"""Demo data for the laboratory (`despp load-demo` calls `load_demo_data`; idempotent).

Six submissions from State Police Troop C and the Hartford Police Department, made over the
last 75 days through the real services (so every custody and lab event exists and every chain
verifies): items received at intake, stored in the vault with a witness, handed to an analyst
and back, split into sub-items, returned to the agency; requests waiting in the DNA and
Firearms queues (backlog), one in analysis, one returned by the technical reviewer and
reworked, released reports (one amended to version 2) and a delivery that failed for want of
an e-mail address. The service clock is set back while the history is written, so turnaround
and backlog figures have something to show.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from despp.core.models import Agency, User
from despp.core.permissions import Role
from despp.forensics import services
from despp.forensics.models import (
    DispositionKind,
    Instrument,
    Item,
    LabRequest,
    Method,
    Result,
    Section,
    SectionCode,
    SectionMembership,
    Submission,
)
from despp.forensics.services import ExamSpec, ItemSpec, Receipt, SubItemSpec, SubmissionSpec
from despp.forensics.setup import ensure_lab_configuration

CASE_PREFIX = "DEMO-"
MEMBERSHIPS = {
    "analyst": (SectionCode.CONTROLLED_SUBSTANCES, SectionCode.TOXICOLOGY),
    "reviewer": (SectionCode.CONTROLLED_SUBSTANCES, SectionCode.TOXICOLOGY),
    "labmanager": tuple(SectionCode),
}
HARTFORD_OFFICER = "hartford-officer"


class _Clock:
    """A stand-in for timezone.now: a settable time that moves a millisecond per reading."""

    def __init__(self, start: datetime, real_now: datetime) -> None:
        self.at = start
        self.real_now = real_now

    def __call__(self) -> datetime:
        self.at += timedelta(milliseconds=1)
        return self.at

    def days_ago(self, days: float) -> None:
        self.at = max(self.at, self.real_now - timedelta(days=days))


@contextmanager
def _clock(days_ago: float) -> Iterator[_Clock]:
    now = timezone.now()
    clock = _Clock(now - timedelta(days=days_ago), now)
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


def _users() -> dict[str, User] | None:
    names = ("labintake", "analyst", "reviewer", "labmanager", "trooper", "supervisor")
    found = {user.username: user for user in User.objects.filter(username__in=names)}
    return found if len(found) == len(names) else None


def _hartford_officer() -> User | None:
    """A non-login officer of the Hartford Police Department who submits evidence."""
    agency = Agency.objects.filter(code="pd-hartford").first()
    if agency is None:
        return None
    officer, created = User.objects.get_or_create(
        username=HARTFORD_OFFICER,
        defaults={"first_name": "Demo", "last_name": "Hartford Officer", "agency": agency},
    )
    if created:
        officer.set_unusable_password()
        officer.save(update_fields=["password"])
    officer.groups.add(Group.objects.get(name=Role.TROOPER.value))
    return officer


def _spec(
    case: str, offense: str, items: list[ItemSpec], exams: list[ExamSpec], **extra: Any
) -> SubmissionSpec:
    return SubmissionSpec(
        case_number=CASE_PREFIX + case, offense=offense, items=items, examinations=exams, **extra
    )


def _receive_all(intake: User, submission: Submission) -> list[Item]:
    receipts = [Receipt(item.pk) for item in submission.items.order_by("id")]
    return services.receive_items(intake, submission, receipts)


def _move(actor: User, item: Item, acknowledger: User, reason: str, **where: Any) -> None:
    """A transfer and its acknowledgement (by the receiving person or the witness)."""
    services.transfer_item(actor, item, reason=reason, seal_intact=True, **where)
    services.acknowledge_transfer(acknowledger, item)


def _work(
    u: dict[str, User], lab_request: LabRequest, method: str, findings: list[tuple[str, str, str]]
) -> list[Result]:
    """The analyst records each (finding, value, units) and hands the work in."""
    method_row = Method.objects.get(code=method)
    instrument = Instrument.objects.filter(section=method_row.section).first()
    item = lab_request.items.order_by("id").first()
    results = [
        services.record_result(
            u["analyst"],
            lab_request,
            finding=finding,
            value=value,
            units=units,
            method=method_row,
            instrument=instrument,
            item=item,
        )
        for finding, value, units in findings
    ]
    services.complete_analysis(u["analyst"], lab_request)
    return results


def _review_and_release(
    u: dict[str, User], lab_request: LabRequest, clock: _Clock, days_ago: float
) -> None:
    services.review_request(u["reviewer"], lab_request, kind="technical", outcome="approved")
    clock.days_ago(days_ago)
    services.review_request(u["labmanager"], lab_request, kind="administrative", outcome="approved")
    services.release_request(u["labmanager"], lab_request)


def _drug_case_released_and_returned(u: dict[str, User], clock: _Clock, vault: Any) -> None:
    submission = services.submit_evidence(
        u["trooper"],
        _spec(
            "C-2601",
            "Possession of narcotics with intent to sell",
            [
                ItemSpec("Knotted plastic bag, off-white powder", "drug", "plastic-bag", "C-55120"),
                ItemSpec("Digital pocket scale with residue", "drug", "paper-bag", "C-55121"),
            ],
            [ExamSpec("cs-drug-identification", [0, 1])],
            officer_email="trooper.demo@example.org",
        ),
    )
    clock.days_ago(74)
    powder, scale = _receive_all(u["labintake"], submission)
    _move(
        u["labintake"],
        powder,
        u["reviewer"],
        "into the vault",
        to_location=vault,
        witness=u["reviewer"],
    )
    clock.days_ago(60)
    lab_request = submission.requests.get()
    services.assign_request(u["analyst"], lab_request, u["analyst"])
    _move(u["labintake"], powder, u["analyst"], "for analysis", to_user=u["analyst"])
    services.start_analysis(u["analyst"], lab_request)
    _work(u, lab_request, "cs-gcms-id", [("Cocaine (Schedule II) identified", "3.41", "g")])
    clock.days_ago(55)
    _review_and_release(u, lab_request, clock, 54)
    _move(
        u["analyst"],
        powder,
        u["labintake"],
        "analysis finished",
        to_location=vault,
        witness=u["labintake"],
    )
    clock.days_ago(40)
    trooper = u["trooper"]
    for item in (powder, scale):
        services.dispose_item(
            u["labintake"],
            item,
            kind=DispositionKind.RETURNED,
            reason="case adjudicated",
            recipient_name=trooper.get_full_name(),
            recipient_agency=trooper.agency,
            recipient_id_number="CSP 1142",
        )


def _shooting_in_the_queues(officer: User, u: dict[str, User], clock: _Clock, vault: Any) -> None:
    submission = services.submit_evidence(
        officer,
        _spec(
            "H-2602",
            "Assault in the first degree (shooting)",
            [
                ItemSpec(
                    "Semi-automatic pistol, 9 mm, serial obliterated", "firearm", "box", "H-7731"
                ),
                ItemSpec(
                    "Three 9 mm cartridge cases", "ammunition", "envelope", "H-7732", quantity=3
                ),
                ItemSpec("Swab from pistol grip", "biological", "envelope", "H-7733"),
            ],
            [
                ExamSpec("fa-operability", [0]),
                ExamSpec("fa-comparison", [0, 1]),
                ExamSpec("dna-touch", [2]),
            ],
            priority="rush",
            officer_email="officer.demo@example.org",
        ),
    )
    clock.days_ago(49)
    for item in _receive_all(u["labintake"], submission):
        _move(
            u["labintake"],
            item,
            u["reviewer"],
            "into the vault",
            to_location=vault,
            witness=u["reviewer"],
        )


def _dui_returned_and_reworked(u: dict[str, User], clock: _Clock) -> None:
    submission = services.submit_evidence(
        u["supervisor"],
        _spec(
            "C-2603",
            "Operating under the influence",
            [ItemSpec("Blood kit, two grey-top tubes", "toxicology", "kit", "C-61002")],
            [ExamSpec("tox-blood-alcohol", [0])],
            officer_email="",  # nobody on file: the e-mail delivery fails, and says why
        ),
    )
    clock.days_ago(34)
    (kit,) = _receive_all(u["labintake"], submission)
    lab_request = submission.requests.get()
    services.assign_request(u["labmanager"], lab_request, u["analyst"])
    _move(u["labintake"], kit, u["analyst"], "for analysis", to_user=u["analyst"])
    services.start_analysis(u["analyst"], lab_request)
    (first,) = _work(u, lab_request, "tox-hs-gc", [("Ethanol detected", "0.14", "g/dL")])
    clock.days_ago(30)
    services.review_request(
        u["reviewer"],
        lab_request,
        kind="technical",
        outcome="returned",
        comments="Calibration check for this batch is not in the record.",
    )
    services.start_analysis(u["analyst"], lab_request)
    services.record_result(
        u["analyst"],
        lab_request,
        finding="Ethanol detected (batch re-run with calibration check)",
        value="0.13",
        units="g/dL",
        method=first.method,
        instrument=first.instrument,
        item=kit,
        supersedes=first,
    )
    services.complete_analysis(u["analyst"], lab_request)
    clock.days_ago(28)
    _review_and_release(u, lab_request, clock, 27)
    services.transfer_item(
        u["analyst"],
        kit,
        to_user=u["labintake"],
        seal_intact=True,
        reason="analysis finished: back to intake",
    )


def _pills_amended(u: dict[str, User], clock: _Clock) -> None:
    submission = services.submit_evidence(
        u["trooper"],
        _spec(
            "C-2604",
            "Possession of a controlled substance",
            [
                ItemSpec(
                    "Pill bottle, 48 white tablets marked M 30",
                    "drug",
                    "plastic-bag",
                    "C-70410",
                    quantity=48,
                )
            ],
            [ExamSpec("cs-quantitation", [0])],
            officer_email="trooper.demo@example.org",
        ),
    )
    clock.days_ago(19)
    (bottle,) = _receive_all(u["labintake"], submission)
    lab_request = submission.requests.get()
    services.assign_request(u["analyst"], lab_request, u["analyst"])
    _move(u["labintake"], bottle, u["analyst"], "for analysis", to_user=u["analyst"])
    services.start_analysis(u["analyst"], lab_request)
    (weighed,) = _work(
        u,
        lab_request,
        "cs-net-weight",
        [("Fentanyl identified; net weight of 48 tablets", "5.24", "g")],
    )
    clock.days_ago(11)
    _review_and_release(u, lab_request, clock, 10)
    clock.days_ago(5)
    services.amend_report(
        u["labmanager"],
        lab_request.report,
        reason="Net weight transcribed wrongly from the balance printout",
    )
    services.record_result(
        u["analyst"],
        lab_request,
        finding="Fentanyl identified; net weight of 48 tablets",
        value="5.42",
        units="g",
        method=weighed.method,
        instrument=weighed.instrument,
        item=bottle,
        supersedes=weighed,
    )
    services.complete_analysis(u["analyst"], lab_request)
    _review_and_release(u, lab_request, clock, 4)


def _kit_split(officer: User, u: dict[str, User], clock: _Clock, freezer: Any) -> None:
    submission = services.submit_evidence(
        officer,
        _spec(
            "H-2605",
            "Sexual assault in the first degree",
            [ItemSpec("Sexual assault evidence collection kit", "kit", "kit", "H-8120")],
            [ExamSpec("dna-sexual-assault-kit", [0])],
            priority="rush",
            officer_email="officer.demo@example.org",
        ),
    )
    clock.days_ago(6)
    (kit,) = _receive_all(u["labintake"], submission)
    parts = [
        SubItemSpec("Oral swabs (2)", quantity=2),
        SubItemSpec("Vaginal swabs (2)", quantity=2),
        SubItemSpec("Known blood card", packaging="envelope"),
    ]
    for part in services.split_item(u["labintake"], kit, parts, reason="kit inventoried"):
        _move(
            u["labintake"],
            part,
            u["labmanager"],
            "to the DNA freezer",
            to_location=freezer,
            witness=u["labmanager"],
        )


def load_demo_data() -> str:
    """Create the demo submissions once; a second run changes nothing."""
    existing = Submission.objects.filter(case_number__startswith=CASE_PREFIX).count()
    if existing:
        return f"{existing} demo submissions already there."
    users = _users()
    officer = _hartford_officer()
    if users is None or officer is None:
        return "skipped: the demo users or the Hartford Police Department are missing."
    with transaction.atomic():
        locations = ensure_lab_configuration()
        for username, codes in MEMBERSHIPS.items():
            for section in Section.objects.filter(code__in=codes):
                SectionMembership.objects.get_or_create(user=users[username], section=section)
        vault = locations["vault-cage-1-a"]
        steps: list[tuple[float, Callable[[_Clock], None]]] = [
            (75, lambda clock: _drug_case_released_and_returned(users, clock, vault)),
            (50, lambda clock: _shooting_in_the_queues(officer, users, clock, vault)),
            (35, lambda clock: _dui_returned_and_reworked(users, clock)),
            (20, lambda clock: _pills_amended(users, clock)),
            (7, lambda clock: _kit_split(officer, users, clock, locations["dna-freezer-1-a"])),
        ]
        for days_ago, step in steps:
            with _clock(days_ago) as clock:
                step(clock)
        services.submit_evidence(
            users["trooper"],
            _spec(
                "C-2606",
                "Burglary in the third degree",
                [
                    ItemSpec("Pry bar recovered at point of entry", "toolmark", "box", "C-80871"),
                    ItemSpec(
                        "Lifted latent prints (4 cards)",
                        "latent",
                        "envelope",
                        "C-80872",
                        quantity=4,
                    ),
                ],
                [ExamSpec("fa-toolmark", [0]), ExamSpec("lp-comparison", [1])],
            ),
        )
    count = Submission.objects.filter(case_number__startswith=CASE_PREFIX).count()
    return f"{count} demo submissions with items through intake, the vault and the sections."
