"""Forms of the lab work pages (assignment, results, reviews) and of the metrics page; the
shared base and the evidence forms are in `views_forms`."""

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from despp.core.models import User
from despp.forensics.models import Instrument, Item, Method, Result, ReviewOutcome
from despp.forensics.selectors_metrics import MAX_PERIOD_DAYS, Period
from despp.forensics.views_forms import LabForm, choice_field, date_input, text_area


class _AnalystChoice(forms.ModelChoiceField):
    """An analyst with the number of open requests they hold (their workload)."""

    open_counts: dict[int, int] = {}

    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name() or obj.get_username()
        return f"{name} ({self.open_counts.get(obj.pk, 0)} open)"


class _ItemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"Item {obj.item_number}: {obj.description[:60]}"


class _ResultChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.finding[:60]} ({timezone.localtime(obj.recorded_at):%Y-%m-%d %H:%M})"


# --- lab work ---------------------------------------------------------------------------------


class AssignForm(LabForm):
    analyst = _AnalystChoice(
        label="Analyst", queryset=User.objects.none(), empty_label="Choose an analyst…"
    )

    def __init__(self, *args: Any, workload: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(_AnalystChoice, self.fields["analyst"])
        field.open_counts = {row["analyst"].pk: row["open"] for row in workload}
        field.queryset = User.objects.filter(pk__in=field.open_counts).order_by(
            "last_name", "username"
        )


class ResultForm(LabForm):
    finding = forms.CharField(label="Finding", max_length=4000, widget=text_area(3))
    value = forms.CharField(label="Value", max_length=80, required=False)
    units = forms.CharField(label="Units", max_length=30, required=False)
    method = forms.ModelChoiceField(
        label="Method (validated, with its version)",
        queryset=Method.objects.none(),
        empty_label="Choose the method…",
    )
    instrument = forms.ModelChoiceField(
        label="Instrument",
        queryset=Instrument.objects.none(),
        required=False,
        empty_label="No instrument",
    )
    item = _ItemChoice(
        label="Item",
        queryset=Item.objects.none(),
        required=False,
        empty_label="The request as a whole",
    )
    notes = forms.CharField(label="Notes", max_length=8000, required=False, widget=text_area(3))
    supersedes = _ResultChoice(
        label="Corrects an earlier result",
        queryset=Result.objects.none(),
        required=False,
        empty_label="No: a new finding",
    )

    def __init__(
        self,
        *args: Any,
        methods: QuerySet[Method],
        instruments: QuerySet[Instrument],
        items: QuerySet[Item],
        results: QuerySet[Result],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "method").queryset = methods
        choice_field(self, "instrument").queryset = instruments
        choice_field(self, "supersedes").queryset = results
        choice_field(self, "item").queryset = items


class ReviewForm(LabForm):
    conditional = ("comments",)
    outcome = forms.ChoiceField(
        label="Decision",
        choices=[
            (ReviewOutcome.APPROVED, "Approve"),
            (ReviewOutcome.RETURNED, "Return for rework"),
        ],
        widget=forms.RadioSelect,
    )
    comments = forms.CharField(
        label="Comments",
        max_length=4000,
        required=False,
        widget=text_area(3),
        help_text="Required when you return the work.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        returned = cleaned.get("outcome") == ReviewOutcome.RETURNED
        if returned and not cleaned.get("comments", "").strip():
            self.add_error("comments", "Say why the work is returned.")
        return cleaned


# --- metrics ----------------------------------------------------------------------------------


class PeriodForm(LabForm):
    first = forms.DateField(label="From", widget=date_input())
    last = forms.DateField(label="To (inclusive)", widget=date_input())

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("first"), cleaned.get("last")
        if first and last:
            if last < first:
                self.add_error("last", "The end of the period must not be before its start.")
            elif (last - first).days > MAX_PERIOD_DAYS:
                self.add_error("first", "Choose a period of at most five years.")
        return cleaned

    def period(self) -> Period:
        return Period(self.cleaned_data["first"], self.cleaned_data["last"])


def default_period(today: date | None = None) -> dict[str, str]:
    today = today or timezone.localdate()
    return {"first": (today - timedelta(days=89)).isoformat(), "last": today.isoformat()}
