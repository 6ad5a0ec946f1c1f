"""The shipped dispatch tables: loaded idempotently by `despp load-reference`, administrators'
edits kept, and a bad file refused by name."""

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from despp.core.models import Town
from despp.core.reference import ReferenceDataError
from despp.dispatch.models import CommonPlace, DispositionCode, NatureCode
from despp.dispatch.reference import DATA_DIR, load_reference_data
from tests.fixtures_reference import reference_data, reference_snapshot  # noqa: F401

pytestmark = pytest.mark.usefixtures("reference_data")


def test_loading_twice_writes_nothing_the_second_time() -> None:
    first = load_reference_data()
    assert "nature codes: 197 new" in first
    assert NatureCode.objects.count() == 197
    assert DispositionCode.objects.filter(code="RPT", report_required=True).exists()
    assert CommonPlace.objects.filter(kind="mile_marker", name="I-84 mile 60").exists()
    second = load_reference_data()
    assert "nature codes: 0 new, 0 updated, 197 unchanged" in second
    assert "places: 0 new, 0 updated" in second


def test_an_administrators_priority_survives_a_reload_and_untouched_fields_still_update(
    tmp_path: Path,
) -> None:
    load_reference_data()
    NatureCode.objects.filter(code="NOISE").update(default_priority=4)
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "nature_codes.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    for row in rows:
        if row["code"] == "NOISE":
            row["default_priority"] = "2"  # the file changes the field the admin edited ...
            row["label"] = "NOISE COMPLAINT"  # ... and one the admin did not
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    summary = load_reference_data(data)
    noise = NatureCode.objects.get(code="NOISE")
    assert noise.default_priority == 4  # the administrator's
    assert noise.label == "NOISE COMPLAINT"  # the file's
    assert "1 administrator edits kept" in summary


def test_a_place_outside_the_town_it_names_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    with (data / "places.csv").open("a", encoding="utf-8") as handle:
        handle.write('landmark,Misplaced,Tolland,,41.7637,-72.6851,"test"\n')
    with pytest.raises(ReferenceDataError, match="Misplaced lies in Hartford, not Tolland"):
        load_reference_data(data)
    assert not CommonPlace.objects.exists()  # one transaction: nothing half-loaded


def test_a_table_missing_an_apco_code_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    path = data / "nature_codes.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line for line in lines if not line.startswith("FSTRU,")) + "\n")
    with pytest.raises(ReferenceDataError, match="lacks APCO incident types FSTRU"):
        load_reference_data(data)


def test_load_reference_runs_the_dispatch_loader(capsys: Any) -> None:
    out = io.StringIO()
    call_command("load_reference", stdout=out)
    assert "911 and computer-aided dispatch: nature codes:" in out.getvalue()
    assert NatureCode.objects.count() == 197


def test_an_administrator_edits_a_nature_codes_priority_in_the_admin(
    admin: Any, sign_in: Any
) -> None:
    load_reference_data()
    noise = NatureCode.objects.get(code="NOISE")
    admin.is_staff = True  # the admin site's own gate; the matrix decides the rest
    admin.save(update_fields=["is_staff"])
    client = sign_in(admin)
    assert client.get("/admin/dispatch/naturecode/").status_code == 200
    page = client.get(f"/admin/dispatch/naturecode/{noise.pk}/change/")
    assert page.status_code == 200
    assert b"Loud noise or music" in page.content
    misplaced = client.post(
        "/admin/dispatch/commonplace/add/",
        {
            "name": "Wrong",
            "kind": "landmark",
            "town": Town.objects.get(name="Tolland").pk,
            "lat": 41.7637,
            "lon": -72.6851,
            "source": "test",
        },
    )
    assert misplaced.status_code == 200  # the form again, with the town refused
    assert not CommonPlace.objects.filter(name="Wrong").exists()
