"""Admin for the laboratory.

Configuration (sections, examination types, who works in which section, methods, instruments,
storage locations) is maintained here by whoever holds `reference.edit`. Casework (submissions,
items, requests, results, reviews, reports, deliveries, dispositions) is read-only here for
every account: it changes only through the services, which write the events it is projected
from. Reading casework here needs `audit.read` and, like every admin look at a non-public
record, is itself audited.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from despp.core.admin_identity import ReadOnlyAuditAdmin
from despp.core.permissions import Action, can
from despp.forensics.models import (
    Disposition,
    ExaminationType,
    Instrument,
    Item,
    LabRequest,
    Method,
    Report,
    ReportDelivery,
    ReportVersion,
    Result,
    Review,
    Section,
    SectionMembership,
    StorageLocation,
    Submission,
)


class LabConfigAdmin(admin.ModelAdmin):
    """Laboratory configuration: `reference.edit` maintains it; nothing is deleted (results
    and custody events point at it), it is retired instead."""

    def _may(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser) or can(request.user, Action.REFERENCE_EDIT)

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


class MembershipInline(admin.TabularInline):
    model = SectionMembership
    extra = 0
    raw_id_fields = ("user",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser) or can(request.user, Action.REFERENCE_EDIT)


@admin.register(Section)
class SectionAdmin(LabConfigAdmin):
    list_display = ("name", "code")
    readonly_fields = ("code",)
    inlines = (MembershipInline,)


@admin.register(ExaminationType)
class ExaminationTypeAdmin(LabConfigAdmin):
    list_display = ("name", "code", "section", "active")
    list_filter = ("section", "active")
    search_fields = ("name", "code")


@admin.register(Method)
class MethodAdmin(LabConfigAdmin):
    list_display = ("name", "code", "version", "section", "status")
    list_filter = ("section", "status")
    search_fields = ("name", "code")


@admin.register(Instrument)
class InstrumentAdmin(LabConfigAdmin):
    list_display = ("name", "asset_tag", "section", "in_service")
    list_filter = ("section", "in_service")
    search_fields = ("name", "asset_tag")


@admin.register(StorageLocation)
class StorageLocationAdmin(LabConfigAdmin):
    list_display = ("code", "name", "kind", "parent", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


class CaseworkAdmin(ReadOnlyAuditAdmin):
    """Casework is changed only by the services; here it is read, and every read audited."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [field.name for field in self.model._meta.fields]


@admin.register(Submission)
class SubmissionAdmin(CaseworkAdmin):
    audit_object_type = "submission"
    list_display = ("lab_number", "case_number", "agency", "status", "submitted_at")
    list_filter = ("status", "priority")
    search_fields = ("lab_number", "case_number")


@admin.register(Item)
class ItemAdmin(CaseworkAdmin):
    audit_object_type = "item"
    list_display = ("barcode", "description", "status", "holder", "location")
    list_filter = ("status", "item_type")
    search_fields = ("barcode", "description")


@admin.register(LabRequest)
class LabRequestAdmin(CaseworkAdmin):
    audit_object_type = "lab_request"
    list_display = ("id", "submission", "examination_type", "state", "analyst")
    list_filter = ("state", "section")


@admin.register(Result)
class ResultAdmin(CaseworkAdmin):
    audit_object_type = "result"
    list_display = ("id", "lab_request", "item", "method", "method_version", "analyst")


@admin.register(Review)
class ReviewAdmin(CaseworkAdmin):
    audit_object_type = "review"
    list_display = ("id", "lab_request", "kind", "outcome", "reviewer", "at")


@admin.register(Report)
class ReportAdmin(CaseworkAdmin):
    audit_object_type = "report"
    list_display = ("number", "current_version")
    search_fields = ("number",)


@admin.register(ReportVersion)
class ReportVersionAdmin(CaseworkAdmin):
    audit_object_type = "report_version"
    list_display = ("report", "version", "released_by", "released_at", "amendment_reason")


@admin.register(ReportDelivery)
class ReportDeliveryAdmin(CaseworkAdmin):
    audit_object_type = "report_delivery"
    list_display = ("version", "channel", "recipient", "status", "failure_reason")
    list_filter = ("status", "channel")


@admin.register(Disposition)
class DispositionAdmin(CaseworkAdmin):
    audit_object_type = "disposition"
    list_display = ("item", "kind", "recipient_name", "recipient_agency", "at")
    list_filter = ("kind",)
