from django.contrib import admin
from django.urls import include, path

from despp.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("staff/dispatch/", include("despp.dispatch.urls")),
    path("staff/lab/", include("despp.forensics.urls")),
    path("staff/", include("despp.core.urls")),
    path("", include("despp.portal.urls")),
]
