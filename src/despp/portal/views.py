"""Public pages of the services hub. Everything here is public: no user data is read."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from despp.core.jurisdiction import ReferenceNotLoadedError
from despp.portal import search as site_search
from despp.portal import selectors
from despp.portal.content import DIVISIONS, TOP_ITEMS_PER_SECTION, get_division


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {"divisions": DIVISIONS, "top_items": TOP_ITEMS_PER_SECTION},
    )


@require_safe
def division(request: HttpRequest, slug: str) -> HttpResponse:
    found = get_division(slug)
    if found is None:
        raise Http404("No such division")
    return render(
        request, "portal/division.html", {"division": found, "current_division": found.slug}
    )


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    submitted = "q" in request.GET
    outcome = site_search.search(request.GET.get("q", ""))
    # Opening the page without a query is not a mistake; submitting an empty one is, and gets
    # the error summary like any form field (GOV.UK pattern).
    show_problem = outcome.problem is not None and submitted
    return render(
        request,
        "portal/search.html",
        {"outcome": outcome, "problem": outcome.problem if show_problem else None},
    )


@require_safe
def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/accessibility.html")


@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/privacy.html")


@require_safe
def find(request: HttpRequest) -> HttpResponse:
    try:
        names = selectors.town_names()
    except ReferenceNotLoadedError:
        lookup = selectors.TownLookup(query="", problem=selectors.LookupProblem.UNAVAILABLE)
        return render(
            request, "portal/find.html", {"lookup": lookup, "problem": lookup.problem}, status=503
        )
    submitted = "town" in request.GET
    lookup = selectors.find_town(request.GET.get("town", ""))
    return render(
        request,
        "portal/find.html",
        {"lookup": lookup, "problem": lookup.problem if submitted else None, "town_names": names},
    )
