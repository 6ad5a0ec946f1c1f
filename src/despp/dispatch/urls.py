"""Staff pages under /staff/dispatch/."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path

from despp.core.permissions import Action, action_required

app_name = "dispatch"


@action_required(Action.INCIDENT_VIEW)
def console(request: HttpRequest) -> HttpResponse:
    return HttpResponse("The dispatch console is being built.")


urlpatterns: list[Any] = [path("", console, name="console")]
