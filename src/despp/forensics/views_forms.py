"""The laboratory pages' forms. They check what a person can get wrong in the browser (blank,
too long, not a date, a choice that needs another field) so that the error sits next to its
field; the services check everything again and have the last word (their refusals come back
onto the form through `views.apply_service_errors`)."""

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.forms import formset_factory
from django.utils import timezone

from despp.core.models import Agency, User
from despp.forensics.models import (
    DispositionKind,
    ExaminationType,
    ItemType,
    Packaging,
    Priority,
    StorageLocation,
)

YES_NO = [("yes", "Yes"), ("no", "No")]


def _yes(value: str) -> bool:
    return value == "yes"


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", "class": "input input--date"})


def text_area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, "class": "input input--area"})


class LabForm(forms.Form):
    """Every control gets the site's input style. Fields in `conditional` are needed in some
    cases only (the form says when); they are not marked "(optional)"."""

    conditional: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.conditional:
            self.fields[name].conditional = True  # type: ignore[attr-defined]
        for field in self.fields.values():
            widget = field.widget
            if not isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                widget.attrs.setdefault("class", "input")


def choice_field(form: forms.Form, name: str) -> forms.ModelChoiceField:
    return cast(forms.ModelChoiceField, form.fields[name])


def _choose(choices: Iterable[tuple[str, str]], blank: str = "Choose…") -> list[tuple[str, str]]:
    return [("", blank), *choices]


class _PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name = obj.get_full_name() or obj.get_username()
        return f"{name} ({obj.get_username()})"


class _LocationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.path)


# --- submission (agency) ----------------------------------------------------------------------


class SubmissionForm(LabForm):
    conditional = ("court_date",)
    case_number = forms.CharField(
        label="Case number", max_length=40, help_text="Your agency's case or incident number."
    )
    offense = forms.CharField(label="Offense", max_length=160)
    offense_date = forms.DateField(label="Date of offense", required=False, widget=date_input())
    officer_name = forms.CharField(label="Submitting officer", max_length=120)
    officer_badge = forms.CharField(label="Badge number", max_length=20, required=False)
    officer_email = forms.EmailField(
        label="Officer's e-mail",
        required=False,
        help_text="The released report is sent here as well as to your agency's portal.",
    )
    priority = forms.ChoiceField(label="Priority", choices=Priority.choices)
    court_date = forms.DateField(
        label="Court date",
        required=False,
        widget=date_input(),
        help_text="Needed when the priority is a court date.",
    )
    notify_emails = forms.CharField(
        label="Also send the report to",
        required=False,
        max_length=2000,
        widget=text_area(2),
        help_text="E-mail addresses, separated by commas or one per line (optional).",
    )
    notes = forms.CharField(
        label="Notes for the laboratory", required=False, max_length=4000, widget=text_area()
    )

    def clean_notify_emails(self) -> list[str]:
        raw = self.cleaned_data.get("notify_emails") or ""
        addresses = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"“{address[:80]}” is not an e-mail address.") from None
        return addresses

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("priority") == Priority.COURT and not cleaned.get("court_date"):
            self.add_error("court_date", "Give the court date, or choose another priority.")
        return cleaned


def examination_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active examination types grouped by section, as (section name, [(code, name)])."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for exam in ExaminationType.objects.filter(active=True).select_related("section"):
        groups.setdefault(exam.section.name, []).append((exam.code, exam.name))
    return list(groups.items())


class SubItemForm(LabForm):
    """One sub-item cut from an item (and the base of an item on a submission)."""

    description = forms.CharField(label="Description", max_length=300)
    item_type = forms.ChoiceField(
        label="Type", choices=ItemType.choices, initial=ItemType.BIOLOGICAL
    )
    packaging = forms.ChoiceField(
        label="Packaging", choices=Packaging.choices, initial=Packaging.ENVELOPE
    )
    seal_number = forms.CharField(label="Seal number", max_length=40, required=False)
    quantity = forms.IntegerField(
        label="Quantity",
        min_value=1,
        max_value=100_000,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "input input--short"}),
    )


class ItemForm(SubItemForm):
    """One item as the agency lists it, with the examinations it wants done."""

    item_type = forms.ChoiceField(label="Type", choices=_choose(ItemType.choices))
    packaging = forms.ChoiceField(label="Packaging", choices=_choose(Packaging.choices))
    examinations = forms.MultipleChoiceField(
        label="Examinations requested",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one examination for this item."},
    )

    def __init__(self, *args: Any, exam_choices: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.MultipleChoiceField, self.fields["examinations"]).choices = exam_choices


ItemFormSet = formset_factory(
    ItemForm, extra=0, min_num=1, validate_min=True, max_num=200, validate_max=True
)


# --- intake -----------------------------------------------------------------------------------


class ReceiptForm(LabForm):
    RECEIVE, MISSING, LATER = "receive", "missing", "later"
    conditional = ("discrepancy",)
    item_id = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        label="Outcome",
        choices=[(RECEIVE, "Received"), (MISSING, "Not delivered"), (LATER, "Not now")],
        initial=RECEIVE,
        widget=forms.RadioSelect,
    )
    seal_intact = forms.TypedChoiceField(
        label="Seal intact", choices=YES_NO, coerce=_yes, initial="yes", widget=forms.RadioSelect
    )
    discrepancy = forms.CharField(
        label="Discrepancy",
        max_length=1000,
        required=False,
        widget=text_area(2),
        help_text="Required when the item is missing or its seal is not intact.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        outcome = cleaned.get("outcome")
        broken = outcome == self.RECEIVE and cleaned.get("seal_intact") is False
        if (outcome == self.MISSING or broken) and not cleaned.get("discrepancy", "").strip():
            why = "the item was not delivered" if outcome == self.MISSING else "the seal is broken"
            self.add_error("discrepancy", f"Describe the discrepancy: {why}.")
        return cleaned


ReceiptFormSet = formset_factory(ReceiptForm, extra=0)


# --- custody ----------------------------------------------------------------------------------


class TransferForm(LabForm):
    PERSON, STORAGE = "person", "storage"
    conditional = ("to_user", "to_location", "witness")
    destination = forms.ChoiceField(
        label="Transfer to",
        choices=[
            (PERSON, "A person (they acknowledge receipt)"),
            (STORAGE, "A storage location (a witness confirms)"),
        ],
        widget=forms.RadioSelect,
    )
    to_user = _PersonChoice(
        label="Person", queryset=User.objects.none(), required=False, empty_label="Choose a person…"
    )
    to_location = _LocationChoice(
        label="Storage location",
        queryset=StorageLocation.objects.none(),
        required=False,
        empty_label="Choose a location…",
    )
    witness = _PersonChoice(
        label="Witness",
        queryset=User.objects.none(),
        required=False,
        empty_label="No witness",
        help_text="Needed for storage, and when you take an item out of storage yourself.",
    )
    reason = forms.CharField(label="Reason", max_length=300)
    seal_intact = forms.TypedChoiceField(
        label="Seal intact", choices=YES_NO, coerce=_yes, widget=forms.RadioSelect
    )
    note = forms.CharField(label="Note", max_length=1000, required=False, widget=text_area(2))

    def __init__(
        self,
        *args: Any,
        takers: QuerySet[User],
        witnesses: QuerySet[User],
        locations: QuerySet[StorageLocation],
        actor: User,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        choice_field(self, "to_user").queryset = takers
        choice_field(self, "witness").queryset = witnesses
        choice_field(self, "to_location").queryset = locations

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        destination = cleaned.get("destination")
        to_user, witness = cleaned.get("to_user"), cleaned.get("witness")
        if destination == self.PERSON:
            cleaned["to_location"] = None
            if to_user is None:
                self.add_error("to_user", "Choose the person who will take the item.")
            elif to_user != self.actor:
                cleaned["witness"] = None  # the receiver acknowledges it themselves
            elif witness is None:
                self.add_error("witness", "Taking an item out of storage needs a witness.")
        elif destination == self.STORAGE:
            cleaned["to_user"] = None
            if cleaned.get("to_location") is None:
                self.add_error("to_location", "Choose where the item goes.")
            if witness is None:
                self.add_error("witness", "A transfer into storage needs a witness.")
        if witness is not None and witness == self.actor and "witness" not in self.errors:
            self.add_error("witness", "The witness must be someone other than you.")
        return cleaned


class AcknowledgeForm(LabForm):
    seal_intact = forms.TypedChoiceField(
        label="Is the seal intact as you receive it?",
        choices=YES_NO,
        coerce=_yes,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label="Note", max_length=1000, required=False, widget=text_area(2))


class ReasonForm(LabForm):
    reason = forms.CharField(label="Reason", max_length=300)


SubItemFormSet = formset_factory(
    SubItemForm, extra=3, min_num=1, validate_min=True, max_num=50, validate_max=True
)


class DispositionForm(LabForm):
    conditional = ("recipient_name", "recipient_agency", "witness")
    kind = forms.ChoiceField(
        label="Disposition", choices=DispositionKind.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(label="Reason", max_length=300)
    recipient_name = forms.CharField(
        label="Received by (name)",
        max_length=120,
        required=False,
        help_text="For a return: who took the item. Nothing leaves without a named recipient.",
    )
    recipient_agency = forms.ModelChoiceField(
        label="Recipient's agency",
        queryset=Agency.objects.none(),
        required=False,
        empty_label="Choose the agency…",
    )
    recipient_id_number = forms.CharField(label="Badge or ID shown", max_length=40, required=False)
    witness = _PersonChoice(
        label="Witness (for destruction)",
        queryset=User.objects.none(),
        required=False,
        empty_label="No witness",
    )
    retain_until = forms.DateField(
        label="Retain until",
        required=False,
        widget=date_input(),
        help_text="For retention (optional).",
    )

    def __init__(
        self, *args: Any, people: QuerySet[User], agencies: QuerySet[Agency], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "witness").queryset = people
        choice_field(self, "recipient_agency").queryset = agencies

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == DispositionKind.RETURNED:
            if not cleaned.get("recipient_name", "").strip():
                self.add_error("recipient_name", "Name the person who received the item.")
            if cleaned.get("recipient_agency") is None:
                self.add_error("recipient_agency", "Name the agency the item is returned to.")
        if kind == DispositionKind.DESTROYED and cleaned.get("witness") is None:
            self.add_error("witness", "Destruction needs a witness.")
        retain = cleaned.get("retain_until")
        if retain is not None and retain <= timezone.localdate():
            self.add_error("retain_until", "The retention date must be in the future.")
        return cleaned
