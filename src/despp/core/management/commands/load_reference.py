"""`despp load-reference [--dataset DIR]`: load the jurisdiction reference data (idempotent).

Without --dataset it loads the Connecticut data shipped in despp/core/reference/ct/. Running it
again changes nothing unless the dataset changed, and never overwrites an administrator's
correction (provenance `override`). Prints what was created or updated and how many facts are
sourced, inferred, derived or overridden.

Then each app's own shipped tables: an app with a `reference` module that defines
`load_reference_data()` (idempotent, keeps administrators' edits, returns a one-line summary)
has it called, after the geography it may depend on.
"""

import importlib
import importlib.util
import io
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.apps import apps as django_apps
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from despp.core.reference import DEFAULT_DATASET, ReferenceDataError, load_reference


class Command(BaseCommand):
    help = "Load the jurisdiction reference data (towns, troops, agencies, PSAPs); idempotent."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--dataset",
            type=Path,
            default=DEFAULT_DATASET,
            help="directory holding towns.csv, town_boundaries.geojson, town_policing.csv, "
            "csp_troops.csv, psaps_partial.csv and agencies.csv (default: the shipped CT data)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset: Path = options["dataset"]
        with Console(stderr=True).status(f"Loading reference data from {dataset} ..."):
            try:
                report = load_reference(dataset)
            except ReferenceDataError as exc:
                raise CommandError(f"reference data not loaded: {exc}") from exc
        buffer = io.StringIO()
        console = Console(file=buffer, width=100, highlight=False)
        table = Table(title=f"Reference data '{report.dataset}' (revision {report.revision})")
        for column in ("", "total", "created", "updated"):
            table.add_column(column, justify="right" if column else "left")
        for label in ("counties", "agencies", "troops", "towns"):
            table.add_row(
                label,
                str(report.total[label]),
                str(report.created[label]),
                str(report.updated[label]),
            )
        console.print(table)
        facts = Table(title="How each town fact was obtained")
        facts.add_column("fact")
        provenances = ("sourced", "inferred", "derived", "override")
        for provenance in provenances:
            facts.add_column(provenance, justify="right")
        for fact in ("policing", "troop", "police_agency", "psap"):
            facts.add_row(fact, *(str(report.provenance[f"{fact} {p}"]) for p in provenances))
        console.print(facts)
        console.print(
            "Changed." if report.changed else "Already up to date: nothing written.",
            f"Administrator overrides kept: {report.overrides_kept}.",
        )
        self.stdout.write(buffer.getvalue(), ending="")
        for config in django_apps.get_app_configs():
            try:
                summary = load_app_reference(config)
            except ReferenceDataError as exc:
                raise CommandError(
                    f"{config.verbose_name} reference data not loaded: {exc}"
                ) from exc
            if summary:
                self.stdout.write(f"{config.verbose_name}: {summary}")


def load_app_reference(config: AppConfig) -> str:
    """Run the app's `reference.load_reference_data()` when it has one; "" otherwise."""
    module_name = f"{config.name}.reference"
    if importlib.util.find_spec(module_name) is None:
        return ""
    loader = getattr(importlib.import_module(module_name), "load_reference_data", None)
    return str(loader()) if callable(loader) else ""
