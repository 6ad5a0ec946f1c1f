"""Staff pages under /staff/: sign-in, MFA, home (views.py), audit search (views_audit.py)."""

from despp.core import views, views_audit

app_name = "core"
urlpatterns = [
    *views.urlpatterns,
    *views_audit.urlpatterns,
]
