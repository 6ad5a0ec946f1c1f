"""The dispatch floor's shipped tables: nature codes, disposition codes and common places.

    load_reference_data() -> str        run by `despp load-reference` after the geography

The files live in dispatch/data/ (see PROVENANCE.md there):
- nature_codes.csv: the 197 APCO common incident types, each with the discipline and default
  priority this platform gives it (the rule is the `basis` column); local codes may be added
  as rows with apco_registry=0. The APCO list itself is kept verbatim beside it and the loader
  refuses a table that lost or invented an APCO code.
- dispositions.csv: how an incident may end.
- places.csv: barracks, landmarks and highway mile markers the type-ahead offers; each point's
  town is checked against the shipped town polygons (a point in the wrong town is refused).

Idempotent and respectful of administrators: every row remembers the values the shipped table
last gave (`shipped`). On reload a field still equal to them takes the new shipped value; a
field an administrator changed keeps the administrator's value. Rows an administrator added
are never touched. A second run with unchanged files writes nothing.

Then, when the units engineer's module exists, `despp.dispatch.plans.load_plans_and_thresholds()`
loads the default response plans and status thresholds (it needs the nature codes first).
"""

import csv
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import models, transaction

from despp.core import jurisdiction
from despp.core.models import Town
from despp.core.reference import ReferenceDataError
from despp.dispatch.models import (
    CommonPlace,
    Discipline,
    DispositionCode,
    NatureCode,
    PlaceKind,
    Priority,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
APCO_FILE = "apco-incident-category-codes.csv"
NATURE_FILE = "nature_codes.csv"
DISPOSITION_FILE = "dispositions.csv"
PLACES_FILE = "places.csv"


@dataclass
class TableReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    edits_kept: int = 0
    kept_fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.edits_kept} administrator edits kept" if self.edits_kept else "")


def _rows(data_dir: Path, name: str) -> list[dict[str, str]]:
    path = data_dir / name
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except OSError as exc:
        raise ReferenceDataError(name, f"cannot be read: {exc}") from exc


def _text(name: str, row: dict[str, str], number: int, column: str, max_length: int) -> str:
    value = (row.get(column) or "").strip()
    if len(value) > max_length:
        raise ReferenceDataError(name, f"longer than {max_length}", row=number, column=column)
    return value


def _required(name: str, row: dict[str, str], number: int, column: str, max_length: int) -> str:
    value = _text(name, row, number, column, max_length)
    if not value:
        raise ReferenceDataError(name, "is empty", row=number, column=column)
    return value


def _flag(name: str, row: dict[str, str], number: int, column: str) -> bool:
    value = (row.get(column) or "").strip()
    if value not in {"0", "1"}:
        raise ReferenceDataError(name, f"must be 0 or 1, got {value!r}", row=number, column=column)
    return value == "1"


def _number(name: str, row: dict[str, str], number: int, column: str) -> float:
    try:
        return float(row.get(column) or "")
    except ValueError:
        raise ReferenceDataError(name, "is not a number", row=number, column=column) from None


def _merge(
    model: type[models.Model],
    key: Callable[[Any], Any],
    wanted: dict[Any, dict[str, Any]],
    make: Callable[[Any, dict[str, Any]], models.Model],
    report: TableReport,
    existing: Iterable[Any],
) -> None:
    """Three-way merge of shipped values into rows (see the module docstring)."""
    by_key = {key(row): row for row in existing}
    new_rows = []
    changed_rows = []
    fields: set[str] = {"shipped"}
    for row_key, values in wanted.items():
        row = by_key.get(row_key)
        if row is None:
            new_rows.append(make(row_key, values))
            continue
        last: dict[str, Any] = row.shipped or {}
        changed = False
        for name, value in values.items():
            current = getattr(row, name)
            if current == value:
                continue
            if name in last and current == last[name]:
                setattr(row, name, value)
                fields.add(name)
                changed = True
            else:  # an administrator's value (or a row an administrator made first): keep it
                report.edits_kept += 1
                report.kept_fields.append(f"{row_key}.{name}")
        if last != values:
            row.shipped = values
            changed = True
        if changed:
            changed_rows.append(row)
        else:
            report.unchanged += 1
    if new_rows:
        model._default_manager.bulk_create(new_rows)
    if changed_rows:
        model._default_manager.bulk_update(changed_rows, sorted(fields))
    report.created += len(new_rows)
    report.updated += len(changed_rows)


def load_nature_codes(data_dir: Path = DATA_DIR) -> TableReport:
    apco = {row["code"].strip() for row in _rows(data_dir, APCO_FILE)}
    wanted: dict[str, dict[str, Any]] = {}
    code_length = NatureCode._meta.get_field("code").max_length or 12
    for number, row in enumerate(_rows(data_dir, NATURE_FILE), start=2):
        code = _required(NATURE_FILE, row, number, "code", code_length)
        if code in wanted:
            raise ReferenceDataError(NATURE_FILE, f"code {code} appears twice", row=number)
        discipline = _required(NATURE_FILE, row, number, "discipline", 10)
        if discipline not in Discipline.values:
            raise ReferenceDataError(
                NATURE_FILE, f"must be one of {Discipline.values}", row=number, column="discipline"
            )
        priority_text = _required(NATURE_FILE, row, number, "default_priority", 2)
        if not priority_text.isdigit() or int(priority_text) not in Priority.values:
            raise ReferenceDataError(
                NATURE_FILE,
                f"must be one of {Priority.values}",
                row=number,
                column="default_priority",
            )
        registry = _flag(NATURE_FILE, row, number, "apco_registry")
        if registry and code not in apco:
            raise ReferenceDataError(
                NATURE_FILE, f"{code} is not an APCO incident type", row=number, column="code"
            )
        wanted[code] = {
            "label": _required(NATURE_FILE, row, number, "label", 120),
            "description": _text(NATURE_FILE, row, number, "description", 2000),
            "discipline": discipline,
            "default_priority": int(priority_text),
            "apco_registry": registry,
        }
    missing = sorted(apco - wanted.keys())
    if missing:
        raise ReferenceDataError(NATURE_FILE, f"lacks APCO incident types {', '.join(missing)}")
    report = TableReport()
    _merge(
        NatureCode,
        lambda row: row.code,
        wanted,
        lambda code, values: NatureCode(code=code, active=True, shipped=values, **values),
        report,
        NatureCode.objects.all(),
    )
    return report


def load_dispositions(data_dir: Path = DATA_DIR) -> TableReport:
    wanted: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(_rows(data_dir, DISPOSITION_FILE), start=2):
        code = _required(DISPOSITION_FILE, row, number, "code", 12)
        if code in wanted:
            raise ReferenceDataError(DISPOSITION_FILE, f"code {code} appears twice", row=number)
        wanted[code] = {
            "label": _required(DISPOSITION_FILE, row, number, "label", 120),
            "report_required": _flag(DISPOSITION_FILE, row, number, "report_required"),
        }
    report = TableReport()
    _merge(
        DispositionCode,
        lambda row: row.code,
        wanted,
        lambda code, values: DispositionCode(code=code, active=True, shipped=values, **values),
        report,
        DispositionCode.objects.all(),
    )
    return report


def load_places(data_dir: Path = DATA_DIR) -> TableReport:
    """Common places; each point must lie in the town the file names (checked by locate())."""
    towns = {town.name: town for town in Town.objects.only("pk", "name")}
    if not towns:
        raise ReferenceDataError(PLACES_FILE, "no towns loaded yet: load the geography first")
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    for number, row in enumerate(_rows(data_dir, PLACES_FILE), start=2):
        name = _required(PLACES_FILE, row, number, "name", 160)
        kind = _required(PLACES_FILE, row, number, "kind", 20)
        if kind not in PlaceKind.values:
            raise ReferenceDataError(
                PLACES_FILE, f"must be one of {PlaceKind.values}", row=number, column="kind"
            )
        town = towns.get(_required(PLACES_FILE, row, number, "town", 60))
        if town is None:
            raise ReferenceDataError(PLACES_FILE, "is not a known town", row=number, column="town")
        lat = _number(PLACES_FILE, row, number, "lat")
        lon = _number(PLACES_FILE, row, number, "lon")
        try:
            answer = jurisdiction.locate(lat, lon)
        except jurisdiction.InvalidCoordinateError as exc:
            raise ReferenceDataError(
                PLACES_FILE, exc.message, row=number, column=exc.field
            ) from exc
        if answer.town != town.name:
            where = answer.town or f"outside the state near {answer.nearest_town}"
            raise ReferenceDataError(
                PLACES_FILE, f"{name} lies in {where}, not {town.name}", row=number, column="town"
            )
        if (town.pk, name) in wanted:
            raise ReferenceDataError(
                PLACES_FILE, f"{name} appears twice in {town.name}", row=number
            )
        wanted[(town.pk, name)] = {
            "kind": kind,
            "street": _text(PLACES_FILE, row, number, "street", 120),
            "lat": lat,
            "lon": lon,
            "source": _text(PLACES_FILE, row, number, "source", 160),
        }
    report = TableReport()
    _merge(
        CommonPlace,
        lambda row: (row.town_id, row.name),
        wanted,
        lambda key, values: CommonPlace(town_id=key[0], name=key[1], shipped=values, **values),
        report,
        CommonPlace.objects.all(),
    )
    return report


def _plans_loader() -> Callable[[], Any] | None:
    """The units engineer's run cards and thresholds loader, once that module exists."""
    try:
        module = importlib.import_module("despp.dispatch.plans")
    except ImportError:
        return None
    loader: Callable[[], Any] | None = getattr(module, "load_plans_and_thresholds", None)
    return loader


def load_reference_data(data_dir: Path = DATA_DIR) -> str:
    """Load or refresh every dispatch table (idempotent); returns a one-line summary."""
    with transaction.atomic():
        natures = load_nature_codes(data_dir)
        dispositions = load_dispositions(data_dir)
        places = load_places(data_dir)
    summary = f"nature codes: {natures}; dispositions: {dispositions}; places: {places}"
    loader = _plans_loader()
    if loader is not None:
        summary += f"; response plans and thresholds: {loader()}"
    return summary
