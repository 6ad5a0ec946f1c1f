"""Admin for towns, troops and counties.

Reference fields are read-only (they come from `despp load-reference`). A town's four
assignments (policing, police agency, troop, PSAP) can be corrected, with a required reason;
the save goes through reference.set_town_assignment, which marks the fact `override`, records
the event and the access audit, and protects it from later reloads. Provenance columns and
filters show at a glance which facts are sourced, inferred, derived or overridden.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from despp.core.models import Agency, AgencyKind, County, Town, Troop
from despp.core.reference import clean_town_assignment, set_town_assignment
from despp.core.reference.assignments import may_correct

ASSIGNMENT_FIELDS = ("policing", "police_agency", "troop", "psap")


class TownAssignmentForm(forms.ModelForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text="Why the assignment is being corrected. Kept in the town's event stream and "
        "the access audit, and shown as the basis of the corrected fact.",
    )

    class Meta:
        model = Town
        fields = ASSIGNMENT_FIELDS

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["police_agency"].queryset = Agency.objects.filter(  # type: ignore[attr-defined]
            kind__in=[AgencyKind.MUNICIPAL_POLICE, AgencyKind.TROOP], active=True
        )
        self.fields["psap"].queryset = Agency.objects.filter(  # type: ignore[attr-defined]
            kind=AgencyKind.PSAP, active=True
        )
        self.fields["troop"].required = True
        self.fields["psap"].required = True

    def assignment_changes(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in ASSIGNMENT_FIELDS if name in self.changed_data
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        changes = self.assignment_changes()
        if not changes:
            raise ValidationError("Change at least one assignment, or cancel.")
        # self.instance still holds the saved values here (the form copies onto it afterwards).
        clean_town_assignment(self.instance, **changes, reason=cleaned.get("reason", ""))
        return cleaned


@admin.register(Town)
class TownAdmin(admin.ModelAdmin):
    form = TownAssignmentForm
    list_display = (
        "name",
        "county",
        "policing",
        "policing_provenance",
        "troop",
        "troop_provenance",
        "police_agency",
        "police_agency_provenance",
        "psap",
        "psap_provenance",
    )
    list_filter = (
        "county",
        "policing",
        "troop",
        "policing_provenance",
        "troop_provenance",
        "police_agency_provenance",
        "psap_provenance",
    )
    list_select_related = ("county", "troop", "police_agency", "psap")
    search_fields = ("name", "fips_2020", "fips_2022")
    readonly_fields = (
        "name",
        "fips_2020",
        "fips_2022",
        "county",
        "planning_region",
        "population",
        "population_year",
        "population_source",
        "land_area_m2",
        "water_area_m2",
        "centroid_lat",
        "centroid_lon",
        "boundary_summary",
        "policing_provenance",
        "policing_basis",
        "ucr_2013_agency_columns",
        "police_agency_provenance",
        "police_agency_basis",
        "troop_provenance",
        "troop_basis",
        "troop_confidence",
        "troop_evidence",
        "troop_sources",
        "troop_candidate",
        "troop_candidate_basis",
        "psap_provenance",
        "psap_basis",
        "resident_trooper_evidence",
        "sources",
        "notes",
    )
    fieldsets = (
        (
            "Reference (from the loaded dataset; read-only)",
            {
                "fields": (
                    ("name", "fips_2020", "fips_2022"),
                    ("county", "planning_region"),
                    ("population", "population_year", "population_source"),
                    ("land_area_m2", "water_area_m2"),
                    ("centroid_lat", "centroid_lon", "boundary_summary"),
                    "sources",
                    "notes",
                )
            },
        ),
        (
            "Policing",
            {
                "fields": (
                    "policing",
                    "policing_provenance",
                    "policing_basis",
                    "ucr_2013_agency_columns",
                )
            },
        ),
        (
            "Primary police agency",
            {"fields": ("police_agency", "police_agency_provenance", "police_agency_basis")},
        ),
        (
            "State Police troop",
            {
                "fields": (
                    "troop",
                    "troop_provenance",
                    "troop_basis",
                    ("troop_confidence", "troop_sources"),
                    "troop_evidence",
                    ("troop_candidate", "troop_candidate_basis"),
                    "resident_trooper_evidence",
                )
            },
        ),
        ("911 answering point (PSAP)", {"fields": ("psap", "psap_provenance", "psap_basis")}),
        ("Correction", {"fields": ("reason",)}),
    )

    @admin.display(description="boundary")
    def boundary_summary(self, town: Town) -> str:
        geometry = town.boundary or {}
        parts = geometry.get("coordinates", [])
        rings = parts if geometry.get("type") == "Polygon" else [r for p in parts for r in p]
        return f"{geometry.get('type', '?')}, {sum(len(ring) for ring in rings)} vertices"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # towns come from the reference data

    def has_change_permission(self, request: HttpRequest, obj: Town | None = None) -> bool:
        return may_correct(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Town | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Town, form: Any, change: bool) -> None:
        # Never a raw save: the service records the override, the event and the audit.
        saved = Town.objects.get(pk=obj.pk)
        set_town_assignment(
            saved,
            **form.assignment_changes(),
            reason=form.cleaned_data["reason"],
            actor=request.user,
            request=request,
        )


@admin.register(Troop)
class TroopAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "agency",
        "barracks_town",
        "district",
        "dispatch_center",
        "dispatch_center_provenance",
    )
    list_filter = ("dispatch_center_provenance",)
    list_select_related = ("agency", "barracks_town", "dispatch_center")

    def get_readonly_fields(self, request: HttpRequest, obj: Troop | None = None) -> list[str]:
        return [field.name for field in Troop._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Troop | None = None) -> bool:
        return False


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    list_display = ("name", "fips", "town_count")
    readonly_fields = ("name", "fips")

    def get_queryset(self, request: HttpRequest) -> QuerySet[County]:
        return super().get_queryset(request).annotate(town_total=Count("towns"))

    @admin.display(description="towns", ordering="town_total")
    def town_count(self, county: County) -> int:
        return county.town_total  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: County | None = None) -> bool:
        return False
