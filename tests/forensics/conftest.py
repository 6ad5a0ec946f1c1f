"""Laboratory fixtures: the configuration (storage, methods, instruments), section
memberships, a second reviewer for administrative review, an analyst of another section, and
helpers that walk a submission through intake and the lab with the real services."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group

from despp.core.models import User
from despp.core.permissions import Role
from despp.forensics import services
from despp.forensics.models import (
    Instrument,
    Item,
    LabRequest,
    Method,
    ReportVersion,
    Section,
    SectionCode,
    SectionMembership,
    StorageLocation,
    Submission,
)
from despp.forensics.setup import ensure_lab_configuration
from tests.personas import ensure_agencies, make_persona


def lab_user(username: str, role: Role, *sections: SectionCode) -> User:
    agencies = ensure_agencies()
    make_persona("labintake")  # makes sure the role groups exist
    user, _ = User.objects.get_or_create(
        username=username,
        defaults={"first_name": "Test", "last_name": username.title(),
                  "agency": agencies["dss-lab"]},
    )  # fmt: skip
    user.groups.add(Group.objects.get(name=role.value))
    for code in sections:
        SectionMembership.objects.get_or_create(user=user, section=Section.objects.get(code=code))
    return user


@dataclass
class Lab:
    locations: dict[str, StorageLocation]
    intake: User
    analyst: User
    reviewer: User
    manager: User
    dna_analyst: User
    method: Method
    instrument: Instrument


@pytest.fixture
def lab(db: Any, labintake: User, analyst: User, reviewer: User) -> Lab:
    locations = ensure_lab_configuration()
    cs = SectionCode.CONTROLLED_SUBSTANCES
    for user in (analyst, reviewer):
        SectionMembership.objects.get_or_create(user=user, section=Section.objects.get(code=cs))
    return Lab(
        locations=locations,
        intake=labintake,
        analyst=analyst,
        reviewer=reviewer,
        manager=lab_user("labmanager", Role.REVIEWER, *SectionCode),
        dna_analyst=lab_user("dnaanalyst", Role.ANALYST, SectionCode.DNA),
        method=Method.objects.get(code="cs-gcms-id"),
        instrument=Instrument.objects.get(asset_tag="GCMS-CS-01"),
    )


def drug_case(**overrides: Any) -> services.SubmissionSpec:
    fields: dict[str, Any] = {
        "case_number": "CFS2600123",
        "offense": "Possession of narcotics",
        "items": [
            services.ItemSpec("Plastic bag, white powder", "drug", "plastic-bag", "S-1001"),
            services.ItemSpec("Glassine folds (10)", "drug", "envelope", "S-1002", quantity=10),
        ],
        "examinations": [services.ExamSpec("cs-drug-identification", [0, 1])],
        "officer_email": "officer@example.org",
    }
    return services.SubmissionSpec(**(fields | overrides))


@pytest.fixture
def submitted(lab: Lab, trooper: User) -> Submission:
    return services.submit_evidence(trooper, drug_case())


@pytest.fixture
def received(lab: Lab, submitted: Submission) -> Submission:
    receipts = [services.Receipt(item.pk) for item in submitted.items.all()]
    services.receive_items(lab.intake, submitted, receipts)
    return submitted


def first_item(submission: Submission) -> Item:
    return submission.items.order_by("id").first()  # type: ignore[return-value]


def only_request(submission: Submission) -> LabRequest:
    return submission.requests.get()


@pytest.fixture
def in_analysis(lab: Lab, received: Submission) -> LabRequest:
    lab_request = only_request(received)
    services.assign_request(lab.analyst, lab_request, lab.analyst)
    services.start_analysis(lab.analyst, lab_request)
    return lab_request


def record_and_complete(lab: Lab, lab_request: LabRequest) -> None:
    item = lab_request.items.order_by("id").first()
    services.record_result(
        lab.analyst, lab_request, finding="Cocaine identified", method=lab.method,
        instrument=lab.instrument, item=item, value="1.02", units="g",
    )  # fmt: skip
    services.complete_analysis(lab.analyst, lab_request)


def reviewed(lab: Lab, lab_request: LabRequest) -> None:
    services.review_request(lab.reviewer, lab_request, kind="technical", outcome="approved")
    services.review_request(lab.manager, lab_request, kind="administrative", outcome="approved")


@pytest.fixture
def released(
    lab: Lab, in_analysis: LabRequest, django_capture_on_commit_callbacks: Callable[..., Any]
) -> ReportVersion:
    record_and_complete(lab, in_analysis)
    reviewed(lab, in_analysis)
    with django_capture_on_commit_callbacks(execute=True):
        return services.release_request(lab.manager, in_analysis)
