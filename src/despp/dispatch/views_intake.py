"""The call-taker's intake screen at /staff/dispatch/intake/.

A plain HTML form that works without JavaScript: the location is typed, and on submit it is
validated against the shipped geography (geo_search); when several places match, the form
comes back with them to pick from. With JavaScript (intake.js) the location field becomes a
type-ahead over GET /api/dispatch/places, and picking a candidate shows at once the
jurisdiction answer (town, troop or municipal department, PSAP), the cautions near the
location and the open incidents nearby that the call may belong to (`answer/`). What the
call-taker typed is always sent as typed (`location_text`); a pick only adds the validated
place, point or town beside it.

Submitting calls `intake_call` (services/calls.py), which records the call, routes it to the
PSAP serving the location, and opens an incident — or joins the one picked, or, when open
incidents nearby may be the same event and none was picked, saves the call and offers them
(attach, or open a new incident anyway). Nothing here writes a model.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from despp.core import audit
from despp.core.errors import Conflict
from despp.core.models import AuditAction, User
from despp.core.permissions import Action, action_required, can
from despp.dispatch import geo_search, selectors
from despp.dispatch.duplicates import DuplicateCandidate, find_duplicates
from despp.dispatch.geo_search import Candidate
from despp.dispatch.models import Call, ClassOfService, NatureCode
from despp.dispatch.services import calls as call_services
from despp.dispatch.services import incidents as incident_services

MAX_CANDIDATES = 8
# A call is taken within this long of opening the screen; an older stamp is not believed.
MAX_TAKING = timedelta(hours=2)


class IntakeForm(forms.Form):
    callback_number = forms.CharField(
        label="Callback number",
        max_length=20,
        required=False,
        help_text="As delivered (ANI) or as the caller gives it.",
        widget=forms.TextInput(attrs={"class": "input", "inputmode": "tel", "autocomplete": "off"}),
    )
    class_of_service = forms.ChoiceField(
        label="Class of service",
        choices=ClassOfService.choices,
        initial=ClassOfService.WIRELESS,
        widget=forms.Select(attrs={"class": "input"}),
    )
    location_text = forms.CharField(
        label="Location",
        max_length=200,
        help_text="A town, a common place, a mile marker (I-84 mm 62), lat, lon, or an "
        "address ending with its town (12 Main St, Hartford). Kept exactly as typed.",
        widget=forms.TextInput(
            attrs={"class": "input", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    uncertainty_m = forms.IntegerField(
        label="Uncertainty (metres)",
        required=False,
        min_value=0,
        max_value=100_000,
        help_text="Wireless or VoIP location radius, when delivered.",
        widget=forms.NumberInput(attrs={"class": "input"}),
    )
    nature = forms.CharField(
        label="Nature code",
        max_length=12,
        help_text="Type the code or its words and pick from the list (e.g. MVA, ALRF, CHEST).",
        widget=forms.TextInput(
            attrs={"class": "input", "list": "nature-codes", "autocomplete": "off"}
        ),
    )
    description = forms.CharField(
        label="What is happening",
        max_length=400,
        required=False,
        widget=forms.Textarea(attrs={"class": "input", "rows": 3}),
    )
    # Set by a pick (type-ahead or the list the form shows); never the typed text itself.
    pick = forms.IntegerField(required=False, widget=forms.HiddenInput)
    place_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    lat = forms.FloatField(required=False, widget=forms.HiddenInput)
    lon = forms.FloatField(required=False, widget=forms.HiddenInput)
    town = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)
    # When the screen was opened for this call: its PSAP receipt and answer time.
    started_at = forms.DateTimeField(required=False, widget=forms.HiddenInput)
    # "new", or the id of an open incident nearby this call belongs to (a duplicate).
    link = forms.RegexField(regex=r"^(new|[0-9]{1,12})$", required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A hidden field a pick filled is wrong only if the page was tampered with or stale:
        # say so on the field the person sees.
        for name in ("pick", "place_id", "lat", "lon", "town", "link", "started_at"):
            if name in self.errors:
                del self.errors[name]
                self.add_error("location_text", "Pick the location again from the list.")
        return cleaned

    def clean_nature(self) -> str:
        typed = self.cleaned_data["nature"].strip().upper()
        code = typed.split(" ", 1)[0]
        if not NatureCode.objects.filter(code=code, active=True).exists():
            raise ValidationError(f"{typed!r} is not a nature code: pick one from the list.")
        return code


@dataclass(frozen=True)
class Located:
    """A location the form resolved: what goes to the service, and how it was found."""

    fields: dict[str, Any]
    candidate: Candidate | None


def locate_typed(data: dict[str, Any]) -> tuple[Located | None, list[Candidate]]:
    """The location the call-taker picked, or the one thing the typed text can mean; else
    (None, the candidates to pick from). Never a guess: several matches mean a choice."""
    if data.get("place_id"):
        return Located({"place_id": data["place_id"]}, None), []
    if data.get("lat") is not None and data.get("lon") is not None:
        return Located({"lat": data["lat"], "lon": data["lon"]}, None), []
    if data.get("town"):
        return Located({"town": data["town"]}, None), []
    text = data.get("location_text", "")
    candidates = geo_search.search_places(text, limit=MAX_CANDIDATES)
    pick = data.get("pick")
    chosen = None
    if pick is not None and 0 <= pick < len(candidates):
        chosen = candidates[pick]
    elif len(candidates) == 1 or (candidates and candidates[0].kind == "coordinates"):
        chosen = candidates[0]
    elif not candidates and "," in text:
        town = text.rsplit(",", 1)[-1].strip()
        if geo_search.town_answers().by_name.get(town.casefold()) is not None:
            return Located({"town": town}, None), []
    if chosen is None:
        return None, candidates
    return Located(candidate_fields(chosen), chosen), []


def candidate_fields(candidate: Candidate) -> dict[str, Any]:
    if candidate.place_id is not None:
        return {"place_id": candidate.place_id}
    if candidate.lat is not None and candidate.lon is not None:
        return {"lat": candidate.lat, "lon": candidate.lon}
    return {"town": candidate.answer.town}


def _errors_from(error: ValidationError, form: IntakeForm) -> None:
    """A service's ValidationError onto the form: fields it names, else the form itself."""
    aliases = {"lat": "location_text", "lon": "location_text", "place_id": "location_text"}
    aliases |= {"town": "location_text", "psap": "location_text"}
    if hasattr(error, "message_dict"):
        for name, messages in error.message_dict.items():
            # The hidden fields a pick fills are reported on the location the person typed.
            target = aliases.get(name) or (name if name in form.fields else None)
            for message in messages:
                form.add_error(target, message)
    else:
        form.add_error(None, error)


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {"natures": selectors.nature_codes().only("code", "label"), **extra}


@require_http_methods(["GET", "POST"])
@action_required(Action.CALL_CREATE)
def intake(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if request.method == "POST" and request.POST.get("decision"):
        return _decide(request, user)
    if request.method != "POST":
        done = _done_call(request, user)
        return render(
            request, "dispatch/intake.html", _context(request, form=IntakeForm(), done=done)
        )
    form = IntakeForm(request.POST)
    if not form.is_valid():
        return render(request, "dispatch/intake.html", _context(request, form=form), status=422)
    data = form.cleaned_data
    located, candidates = locate_typed(data)
    if located is None:
        if not candidates:
            form.add_error("location_text", "No town, place, mile marker or coordinates match.")
        status = 422 if not candidates else 200
        context = _context(request, form=form, candidates=candidates)
        return render(request, "dispatch/intake.html", context, status=status)
    attach_to = None
    link = data.get("link") or ""
    if link.isdigit():
        try:
            attach_to = selectors.incident_for(user, int(link))
        except Http404:
            form.add_error(None, "The incident picked to attach to is not open on your floor.")
            return render(request, "dispatch/intake.html", _context(request, form=form), status=404)
    started = _started_at(data.get("started_at"))
    where = {"place_id": None, "lat": None, "lon": None, "town": None, **located.fields}
    try:
        result = call_services.intake_call(
            psap=None,
            callback_number=data["callback_number"],
            class_of_service=data["class_of_service"],
            uncertainty_m=data["uncertainty_m"] if where["lat"] is not None else None,
            civic_address=None,
            location_text=data["location_text"],
            received_at=started,
            answered_at=started,
            call_taker=user,
            source_ref=None,
            description=data["description"],
            request=request,
            nature=data["nature"],
            attach_to=attach_to,
            new_incident=link == "new",
            **where,
        )
    except ValidationError as error:
        _errors_from(error, form)
        return render(request, "dispatch/intake.html", _context(request, form=form), status=422)
    except Conflict as conflict:
        form.add_error(None, conflict.detail)
        return render(request, "dispatch/intake.html", _context(request, form=form), status=409)
    if result.incident is None and result.duplicates:
        context = _context(request, call=result.call, duplicates=result.duplicates)
        context |= {"cautions": result.cautions, "answer": result.answer, "nature": data["nature"]}
        return render(request, "dispatch/intake_decide.html", context)
    return HttpResponseRedirect(f"{reverse('dispatch:intake')}?done={result.call.pk}")


def _started_at(value: datetime | None) -> datetime:
    """The time the screen was opened (sent back by the form) when it is plausible for a
    call being taken now; else now."""
    now = timezone.now()
    if value is None or timezone.is_naive(value) or not now - MAX_TAKING <= value <= now:
        return now
    return value


def _done_call(request: HttpRequest, user: User) -> Call | None:
    done = request.GET.get("done", "")
    if not done.isdigit() or len(done) > 12:
        return None
    try:
        call = selectors.call_for(user, int(done))
    except Http404:
        return None
    audit.record(AuditAction.READ, request=request, object_type="call", object_id=call.pk)
    return call


def _decide(request: HttpRequest, user: User) -> HttpResponse:
    """After duplicates were offered for a saved call: attach it, or open a new incident."""
    call_id, decision = request.POST.get("call", ""), request.POST.get("decision", "")
    if not call_id.isdigit() or len(call_id) > 12:
        raise Http404("No call matches the given query.")
    call = selectors.call_for(user, int(call_id))
    try:
        if decision.startswith("attach:") and decision[7:].isdigit():
            incident = selectors.incident_for(user, int(decision[7:]))
            incident_services.attach_call(call, incident, user, request=request)
        elif decision == "new":
            nature = request.POST.get("nature", "")
            incident_services.create_incident(nature=nature, user=user, call=call, request=request)
        else:
            raise Http404("No such decision.")
    except (ValidationError, Conflict) as error:
        message = error.detail if isinstance(error, Conflict) else "; ".join(error.messages)
        context = _context(request, call=call, duplicates=[], decision_error=message)
        context["nature"] = request.POST.get("nature", "")[:12]
        return render(request, "dispatch/intake_decide.html", context, status=409)
    return HttpResponseRedirect(f"{reverse('dispatch:intake')}?done={call.pk}")


@require_GET
@action_required(Action.CALL_CREATE)
def answer(request: HttpRequest) -> HttpResponse:
    """The jurisdiction answer, cautions and possible duplicates for a location being typed
    (HTMX partial of the intake screen)."""
    user: User = request.user  # type: ignore[assignment]
    form = IntakeForm(request.GET)
    form.is_valid()  # only the location fields matter here; the rest may still be empty
    data = {
        name: form.cleaned_data.get(name) for name in ("place_id", "lat", "lon", "town", "pick")
    }
    data["location_text"] = request.GET.get("location_text", "")[:200]
    located, candidates = locate_typed(data)
    if located is None:
        return render(request, "dispatch/intake_answer.html", {"candidates": candidates})
    try:
        where = geo_search.resolve_location(**located.fields)
    except ValidationError as error:
        return render(request, "dispatch/intake_answer.html", {"error": "; ".join(error.messages)})
    nature = NatureCode.objects.filter(code=(form.cleaned_data.get("nature") or "")).first()
    duplicates: list[DuplicateCandidate] = []
    if where.psap_id is not None:
        duplicates = find_duplicates(
            psap_id=where.psap_id,
            lat=where.lat,
            lon=where.lon,
            discipline=nature.discipline if nature else None,
        )
    visible = {
        incident.pk
        for incident in selectors.visible_incidents(user).filter(
            pk__in=[d.incident.pk for d in duplicates]
        )
    }
    duplicates = [d for d in duplicates if d.incident.pk in visible]
    cautions = _cautions_at(where.lat, where.lon)
    audit.record(
        AuditAction.SEARCH,
        request=request,
        object_type="dispatch_location",
        detail={"cautions": len(cautions), "duplicates": len(duplicates)},
    )
    context = {
        "where": where,
        "answer": geo_search.routing_answer(where.answer),
        "located": located,
        "duplicates": duplicates,
        "cautions": cautions,
        "may_attach": can(user, Action.CALL_CREATE),
    }
    return render(request, "dispatch/intake_answer.html", context)


def _cautions_at(lat: float | None, lon: float | None) -> list[Any]:
    if lat is None or lon is None:
        return []
    return incident_services.cautions_near(lat, lon)
