"""The auditor's search over the access audit."""

urlpatterns: list = []
