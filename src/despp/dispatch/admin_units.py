"""Admin for units, stations, response plans (run cards) and status thresholds.

Who may: `unit.manage` equips units and stations; `reference.edit` maintains run cards and
thresholds (the shipped defaults are loaded once; what is edited here survives a reload).
A unit's working state — in service, position, open emergency — changes only through the
services (which write its events), so it is read-only here. Nothing is deleted: assignments
point at units and stations; a unit leaves service instead.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from despp.core import audit
from despp.core.models import AuditAction
from despp.core.permissions import Action, can
from despp.dispatch.models import (
    AssignmentStatus,
    Capability,
    ResponsePlan,
    ResponsePlanLine,
    Station,
    StatusThreshold,
    Unit,
    UnitKind,
)


class _ByAction(admin.ModelAdmin):
    permission_action: Action = Action.REFERENCE_EDIT
    audit_object_type = ""

    def _may(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) or can(request.user, self.permission_action)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            AuditAction.UPDATE if change else AuditAction.CREATE,
            request=request,
            object_type=self.audit_object_type,
            object_id=obj.pk,
            detail={"via": "admin", "fields": sorted(form.changed_data)},
        )


class UnitForm(forms.ModelForm):
    capabilities = forms.MultipleChoiceField(
        choices=Capability.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Unit
        fields = ("call_sign", "kind", "agency", "home_station", "capabilities")

    def clean_call_sign(self) -> str:
        call_sign: str = self.cleaned_data["call_sign"].strip().upper()
        if not call_sign or any(ch.isspace() for ch in call_sign):
            raise forms.ValidationError("A call sign is one word, e.g. C-112 or HFD-E1.")
        return call_sign


@admin.register(Unit)
class UnitAdmin(_ByAction):
    permission_action = Action.UNIT_MANAGE
    audit_object_type = "unit"
    form = UnitForm
    list_display = ("call_sign", "kind", "agency", "home_station", "in_service")
    list_filter = ("kind", "in_service", "agency__kind")
    search_fields = ("call_sign", "agency__code", "agency__name")
    raw_id_fields = ("agency", "home_station")
    readonly_fields = (
        "in_service",
        "out_of_service_reason",
        "lat",
        "lon",
        "position_at",
        "emergency_at",
    )


@admin.register(Station)
class StationAdmin(_ByAction):
    permission_action = Action.UNIT_MANAGE
    audit_object_type = "station"
    list_display = ("name", "agency", "town", "lat", "lon")
    search_fields = ("name", "agency__code", "town__name")
    raw_id_fields = ("agency", "town")


class LineForm(forms.ModelForm):
    unit_kinds = forms.MultipleChoiceField(
        choices=UnitKind.choices, widget=forms.CheckboxSelectMultiple, help_text="any of"
    )

    class Meta:
        model = ResponsePlanLine
        fields = ("unit_kinds", "count", "capability")
        widgets = {"capability": forms.Select(choices=[("", "—"), *Capability.choices])}

    def clean_count(self) -> int:
        count: int = self.cleaned_data["count"]
        if not 1 <= count <= 20:
            raise forms.ValidationError("From 1 to 20 units.")
        return count


class LineInline(admin.TabularInline):
    model = ResponsePlanLine
    form = LineForm
    extra = 1

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) or can(request.user, Action.REFERENCE_EDIT)


@admin.register(ResponsePlan)
class ResponsePlanAdmin(_ByAction):
    audit_object_type = "response_plan"
    list_display = ("name", "nature", "town")
    list_filter = ("nature__discipline",)
    search_fields = ("name", "nature__code", "town__name")
    raw_id_fields = ("nature", "town")
    inlines = (LineInline,)


@admin.register(StatusThreshold)
class StatusThresholdAdmin(_ByAction):
    audit_object_type = "status_threshold"
    list_display = ("status", "unit_kind", "warn_after_s", "alarm_after_s", "label")

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "status":
            kwargs["widget"] = forms.Select(choices=AssignmentStatus.choices)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
