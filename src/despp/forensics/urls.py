"""Staff pages of the forensic laboratory, under /staff/lab/ (see forensics.views). The PDFs
(labels, custody history, report versions) are served by the laboratory API, /api/forensics/."""

from typing import Any

from django.urls import path

from despp.forensics import (
    views_home,
    views_items,
    views_metrics,
    views_reports,
    views_requests,
    views_submissions,
)

app_name = "forensics"

urlpatterns: list[Any] = [
    path("", views_home.home, name="home"),
    path("submit/", views_submissions.submission_new, name="submit"),
    path("submissions/", views_home.submission_list, name="submissions"),
    path("submissions/<int:pk>/", views_submissions.submission_detail, name="submission"),
    path("submissions/<int:pk>/receive/", views_submissions.submission_receive, name="receive"),
    path("items/find/", views_items.item_find, name="item-find"),
    path("items/<int:pk>/", views_items.item_detail, name="item"),
    path("items/<int:pk>/split/", views_items.item_split, name="item-split"),
    path("items/<int:pk>/<slug:step>/", views_items.item_step, name="item-step"),
    path("requests/", views_home.request_list, name="requests"),
    path("requests/<int:pk>/", views_requests.request_detail, name="request"),
    path("requests/<int:pk>/<slug:step>/", views_requests.request_step, name="request-step"),
    path("reports/<int:pk>/", views_reports.report_detail, name="report"),
    path("reports/<int:pk>/v<int:number>/", views_reports.report_version, name="report-version"),
    path("reports/<int:pk>/amend/", views_reports.report_amend, name="report-amend"),
    path("reports/<int:pk>/deliver/", views_reports.report_deliver, name="report-deliver"),
    path("metrics/", views_metrics.metrics_page, name="metrics"),
    path("metrics/export.csv", views_metrics.metrics_csv, name="metrics-csv"),
]
