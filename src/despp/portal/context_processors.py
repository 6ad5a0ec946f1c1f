from django.http import HttpRequest

from despp.portal.content import DEPARTMENT


def site(request: HttpRequest) -> dict[str, object]:
    return {"site_name": DEPARTMENT.name, "department": DEPARTMENT}
