"""API errors as RFC 9457 problem details (`application/problem+json`).

Every error the API returns has `type`, `title`, `status`, `detail` and `instance`; validation
errors add `errors`, one entry per field: `{"location", "field", "message", "code"}`. The types
are the closed set `ProblemType`, each documented at `/api/problems/<slug>` and in
docs/api-errors.md. Services signal a state conflict or a lost race by raising `Conflict`, which
becomes a 409.
"""

import json
import logging
import uuid
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

logger = logging.getLogger("despp.api")

PROBLEM_JSON = "application/problem+json"
JSON_MEDIA_TYPE = "application/json"
PROBLEM_DOCS_PATH = "/api/problems/"


class ProblemType(models.TextChoices):
    """The kinds of error the API reports; the label is the problem's `title`."""

    VALIDATION = "validation", "The request is not valid"
    MALFORMED_BODY = "malformed-body", "The request body is not valid JSON"
    UNSUPPORTED_MEDIA_TYPE = "unsupported-media-type", "Unsupported media type"
    BODY_TOO_LARGE = "body-too-large", "The request body is too large"
    BAD_REQUEST = "bad-request", "Bad request"
    UNAUTHENTICATED = "unauthenticated", "Authentication required"
    FORBIDDEN = "forbidden", "Not allowed"
    NOT_FOUND = "not-found", "Not found"
    METHOD_NOT_ALLOWED = "method-not-allowed", "Method not allowed"
    CONFLICT = "conflict", "Conflict with the current state"
    TOO_MANY_REQUESTS = "too-many-requests", "Too many requests"
    SERVER_ERROR = "server-error", "Internal server error"


STATUS: dict[ProblemType, int] = {
    ProblemType.VALIDATION: 422,
    ProblemType.MALFORMED_BODY: 400,
    ProblemType.UNSUPPORTED_MEDIA_TYPE: 415,
    ProblemType.BODY_TOO_LARGE: 413,
    ProblemType.BAD_REQUEST: 400,
    ProblemType.UNAUTHENTICATED: 401,
    ProblemType.FORBIDDEN: 403,
    ProblemType.NOT_FOUND: 404,
    ProblemType.METHOD_NOT_ALLOWED: 405,
    ProblemType.CONFLICT: 409,
    ProblemType.TOO_MANY_REQUESTS: 429,
    ProblemType.SERVER_ERROR: 500,
}

DESCRIPTIONS: dict[ProblemType, str] = {
    ProblemType.VALIDATION: (
        "One or more parameters or body fields are missing or invalid. `errors` lists each: "
        "`location` (body, query, path, header, cookie, form), `field` (dotted path, empty for "
        "the whole body), `message` and a machine-readable `code`. Nothing was written."
    ),
    ProblemType.MALFORMED_BODY: (
        "The body could not be parsed as JSON (syntax error, invalid UTF-8, a duplicated key "
        "or a non-finite number). `errors` names the body. Nothing was written."
    ),
    ProblemType.UNSUPPORTED_MEDIA_TYPE: (
        "The body's Content-Type is not one the operation accepts; `expected` names the one "
        "to use (application/json, UTF-8). Nothing was written."
    ),
    ProblemType.BODY_TOO_LARGE: (
        "The body is larger than the server accepts (`max_bytes`). Nothing was written."
    ),
    ProblemType.BAD_REQUEST: "The request could not be understood. Nothing was written.",
    ProblemType.UNAUTHENTICATED: (
        "No credentials, or credentials that are malformed, unknown, revoked or belong to a "
        "disabled account. Send `Authorization: Bearer <token>` (see `despp token create`)."
    ),
    ProblemType.FORBIDDEN: (
        "The caller is authenticated but their roles do not allow this action. The refusal "
        "is recorded in the access audit. (A record outside the caller's agency is a 404.)"
    ),
    ProblemType.NOT_FOUND: (
        "No such route, or no such record that the caller may see: the API never reveals "
        "whether a record exists in another agency."
    ),
    ProblemType.METHOD_NOT_ALLOWED: (
        "The route exists but not for this HTTP method; the Allow header lists the methods."
    ),
    ProblemType.CONFLICT: (
        "The request contradicts the record's current state: a transition its state machine "
        "does not allow, or a race another user won. Re-read the record and decide again. "
        "Extension members (such as `current_state`) say what was found."
    ),
    ProblemType.TOO_MANY_REQUESTS: "Slow down; Retry-After says when to try again.",
    ProblemType.SERVER_ERROR: (
        "An unexpected error. Nothing was committed. The details are in the server log under "
        "`error_id`; quote it when reporting the problem."
    ),
}

# The type for an HttpError raised with a bare status (400 is the generic one, not JSON's).
_BY_STATUS = {status: problem for problem, status in STATUS.items()} | {
    400: ProblemType.BAD_REQUEST
}


def type_uri(problem: ProblemType) -> str:
    return PROBLEM_DOCS_PATH + problem.value


# --- exceptions the platform raises --------------------------------------------------------


class Conflict(Exception):
    """Raise from a service when a state transition is invalid or a race was lost (409).

    `extensions` are added to the problem body, e.g.
    `Conflict("Unit A12 is already on scene", current_state="on_scene")`.
    """

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions


class UnsupportedMediaType(Exception):
    def __init__(self, received: str) -> None:
        super().__init__(received)
        self.received = received


class MalformedBody(Exception):
    pass


# --- rendering --------------------------------------------------------------------------


def problem_response(
    request: HttpRequest,
    problem: ProblemType,
    detail: str,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> HttpResponse:
    code = status or STATUS[problem]
    return _render(request, type_uri(problem), problem.label, code, detail, headers, extensions)


def _render(
    request: HttpRequest,
    type_: str,
    title: str,
    status: int,
    detail: str,
    headers: dict[str, str] | None,
    extensions: dict[str, Any],
) -> HttpResponse:
    body = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": escape_uri_path(request.path),
        **extensions,
    }
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    result = []
    for error in errors:
        location, *path = error.get("loc") or ("body",)
        result.append(
            {
                "location": str(location),
                "field": ".".join(str(part) for part in path),
                "message": str(error.get("msg", "")),
                "code": str(error.get("type", "invalid")),
            }
        )
    return result


def _validation_problem(request: HttpRequest, errors: list[dict[str, str]]) -> HttpResponse:
    named = ", ".join(
        f"{error['location']}.{error['field']}" if error["field"] else error["location"]
        for error in errors
    )
    return problem_response(
        request,
        ProblemType.VALIDATION,
        f"{len(errors)} invalid: {named}." if errors else "The request is not valid.",
        errors=errors,
    )


# --- handlers ---------------------------------------------------------------------------


def on_ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _validation_problem(request, _field_errors(exc.errors))


def on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """A service's own validation (HackSoft style: services raise ValidationError)."""
    location = "body" if request.method in {"POST", "PUT", "PATCH"} else "query"
    if hasattr(exc, "error_dict"):
        pairs = [
            ("" if field == "__all__" else field, message)
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        pairs = [("", message) for message in exc.messages]
    errors = [
        {"location": location, "field": field, "message": message, "code": "invalid"}
        for field, message in pairs
    ]
    return _validation_problem(request, errors)


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps any failure to parse a body in HttpError(400) `from` the real cause.
    cause = exc.__cause__
    if isinstance(cause, UnsupportedMediaType):
        return on_unsupported_media_type(request, cause)
    if isinstance(cause, MalformedBody):
        return on_malformed_body(request, cause)
    if isinstance(cause, NinjaValidationError):
        return on_ninja_validation(request, cause)
    headers: dict[str, str] = {}
    detail = str(exc)
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="despp"'
        if detail == "Unauthorized":  # ninja's words when no credentials came at all
            detail = "Send Authorization: Bearer <token>, or sign in."
    if isinstance(exc, Throttled) and exc.wait:
        headers["Retry-After"] = str(int(exc.wait))
    problem = _BY_STATUS.get(exc.status_code)
    if problem is None:  # a status with no type of its own: RFC 9457 "about:blank"
        return _about_blank(request, exc.status_code, detail, headers)
    return problem_response(request, problem, detail, status=exc.status_code, headers=headers)


def _about_blank(
    request: HttpRequest, status: int, detail: str, headers: dict[str, str]
) -> HttpResponse:
    # RFC 9457 4.2.1: a status with no more specific type; the title is the status phrase.
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return _render(request, "about:blank", phrase, status, detail, headers, {})


def on_unsupported_media_type(request: HttpRequest, exc: UnsupportedMediaType) -> HttpResponse:
    received = exc.received or "no Content-Type"
    headers = {}
    if request.method in {"POST", "PATCH"}:
        headers[f"Accept-{request.method.title()}"] = JSON_MEDIA_TYPE
    return problem_response(
        request,
        ProblemType.UNSUPPORTED_MEDIA_TYPE,
        f"The body was sent as {received}; send it as {JSON_MEDIA_TYPE} (UTF-8).",
        headers=headers,
        expected=JSON_MEDIA_TYPE,
    )


def on_malformed_body(request: HttpRequest, exc: Exception) -> HttpResponse:
    message = str(exc) or "not valid JSON"
    return problem_response(
        request,
        ProblemType.MALFORMED_BODY,
        f"The request body is not valid JSON: {message}.",
        errors=[{"location": "body", "field": "", "message": message, "code": "json_invalid"}],
    )


def on_too_large(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return problem_response(
        request,
        ProblemType.BODY_TOO_LARGE,
        f"The request body is larger than the {limit:,} bytes this server accepts.",
        max_bytes=limit,
    )


def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    logger.warning("suspicious API request %s %s: %s", request.method, request.path, exc)
    return problem_response(request, ProblemType.BAD_REQUEST, "The request was refused.")


def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, ProblemType.NOT_FOUND, str(exc) or "Not found.")


def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    detail = str(exc) or "Your roles do not allow this action."
    return problem_response(request, ProblemType.FORBIDDEN, detail)


def on_conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return problem_response(request, ProblemType.CONFLICT, exc.detail, **exc.extensions)


def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Log the whole story server-side; tell the client only that it happened, and its id."""
    error_id = uuid.uuid4().hex
    logger.error(
        "unhandled API error %s on %s %s",
        error_id,
        request.method,
        request.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem_response(
        request,
        ProblemType.SERVER_ERROR,
        f"An unexpected error occurred and nothing was saved. Quote error id {error_id}.",
        error_id=error_id,
    )


def install_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default handlers: every error becomes problem+json, none leaks a trace."""
    handlers: list[tuple[type[Exception], Any]] = [
        (Exception, on_unexpected),
        (NinjaValidationError, on_ninja_validation),
        (DjangoValidationError, on_django_validation),
        (HttpError, on_http_error),
        (Http404, on_not_found),
        (PermissionDenied, on_permission_denied),
        (Conflict, on_conflict),
        (UnsupportedMediaType, on_unsupported_media_type),
        (MalformedBody, on_malformed_body),
        (RequestDataTooBig, on_too_large),
        (TooManyFieldsSent, on_too_large),
        (TooManyFilesSent, on_too_large),
        (SuspiciousOperation, on_suspicious),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
