"""Staff pages under /staff/dispatch/: the dispatcher console, its live feed and partials, and
the call-taker's intake screen."""

from typing import Any

from django.urls import path

from despp.dispatch import feed, views_console, views_intake, views_reports

app_name = "dispatch"

urlpatterns: list[Any] = [
    path("", views_console.console, name="console"),
    path("feed", feed.feed, name="feed"),
    path("panel/<slug:name>/", views_console.panel, name="panel"),
    path("command/", views_console.command, name="command"),
    path("map/towns.geojson", views_console.towns_geojson, name="towns"),
    path("panels/", views_console.panels, name="panels"),
    path("intake/", views_intake.intake, name="intake"),
    path("intake/answer/", views_intake.answer, name="intake-answer"),
    *views_reports.urlpatterns_reports,
]
