"""Admin for the shipped dispatch tables: nature codes, dispositions, common places, cautions.

Who may: `reference.edit`. What an administrator changes here is kept when `despp
load-reference` reloads the shipped files (reference.py compares each field with the value the
file last gave, shown read-only as "shipped"). A common place must lie in the town it names
(checked against the shipped town polygons). Nothing is deleted: calls and incidents point at
these rows; retire a code with `active` instead.
"""

from typing import Any

from django import forms
from django.contrib import admin

from despp.core import jurisdiction
from despp.dispatch.admin_units import _ByAction
from despp.dispatch.models import Caution, CommonPlace, DispositionCode, NatureCode


@admin.register(NatureCode)
class NatureCodeAdmin(_ByAction):
    audit_object_type = "nature_code"
    list_display = ("code", "label", "discipline", "default_priority", "apco_registry", "active")
    list_filter = ("discipline", "default_priority", "active", "apco_registry")
    search_fields = ("code", "label", "description")
    readonly_fields = ("shipped",)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        # A code in use names incidents and EIDO exchanges: it is fixed once made.
        return ("code", "apco_registry", "shipped") if obj is not None else ("shipped",)


@admin.register(DispositionCode)
class DispositionCodeAdmin(_ByAction):
    audit_object_type = "disposition_code"
    list_display = ("code", "label", "report_required", "active")
    list_filter = ("report_required", "active")
    search_fields = ("code", "label")

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return ("code", "shipped") if obj is not None else ("shipped",)


class CommonPlaceForm(forms.ModelForm):
    class Meta:
        model = CommonPlace
        fields = ("name", "kind", "town", "street", "lat", "lon", "source")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        lat, lon, town = data.get("lat"), data.get("lon"), data.get("town")
        if lat is None or lon is None or town is None:
            return data
        try:
            answer = jurisdiction.locate(lat, lon)
        except jurisdiction.InvalidCoordinateError as exc:
            raise forms.ValidationError({exc.field: exc.message}) from exc
        if answer.town != town.name:
            where = answer.town or f"outside Connecticut (near {answer.nearest_town})"
            raise forms.ValidationError({"town": f"The point lies in {where}, not {town.name}."})
        return data


@admin.register(CommonPlace)
class CommonPlaceAdmin(_ByAction):
    audit_object_type = "common_place"
    form = CommonPlaceForm
    list_display = ("name", "kind", "town", "lat", "lon", "source")
    list_filter = ("kind",)
    search_fields = ("name", "street", "town__name")
    readonly_fields = ("shipped",)
    list_select_related = ("town",)
    raw_id_fields = ("town",)

    def get_queryset(self, request: Any) -> Any:
        return super().get_queryset(request).defer("town__boundary")


@admin.register(Caution)
class CautionAdmin(_ByAction):
    audit_object_type = "caution"
    list_display = ("kind", "text", "person_name", "address_text", "agency", "expires_at")
    list_filter = ("kind",)
    search_fields = ("text", "person_name", "address_text")
    readonly_fields = ("created_by", "created_at")
    raw_id_fields = ("agency",)
    list_select_related = ("agency",)

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
