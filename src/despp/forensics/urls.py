"""Staff pages under /staff/lab/."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from despp.core.permissions import Action, action_required

app_name = "forensics"


@action_required(Action.EVIDENCE_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("The laboratory pages are being built.")


urlpatterns: list[Any] = [path("", home, name="home")]
