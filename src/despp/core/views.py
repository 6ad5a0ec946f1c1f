"""Sign-in, MFA and the staff home page."""

from django.http import HttpRequest, HttpResponse


def locked_out(
    request: HttpRequest, credentials: dict | None = None, *args: object, **kwargs: object
) -> HttpResponse:
    return HttpResponse("Account locked", status=403)


urlpatterns: list = []
