"""The JSON API: one NinjaAPI, each app contributes a router; errors are RFC 9457 problem+json.

`DesppAPI` adds to django-ninja what every route needs and no route should repeat:
- every error is `application/problem+json` (handlers in despp.core.errors), including
  unknown routes and wrong methods under /api/, which Django would answer in HTML;
- JSON bodies are parsed strictly (application/json in UTF-8; 415 otherwise);
- the OpenAPI document declares the problem responses each operation can give, so clients and
  schemathesis know every status and content type to expect;
- the problem types are documented at /api/problems/<slug>.
"""

import functools
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI, Router, Schema
from ninja.errors import ValidationError, ValidationErrorContext

from despp.core import api_audit, api_geography, api_identity, errors
from despp.core.api_parsing import StrictJSONParser
from despp.dispatch.api import router as dispatch_router
from despp.forensics.api import router as forensics_router

_DOCS_VIEWS = {"openapi-json", "openapi-view", "api-root"}  # ninja's own, not operations
_SAFE_METHODS = {"GET", "HEAD"}


class DesppAPI(NinjaAPI):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parser=StrictJSONParser(), **kwargs)

    def set_default_exception_handlers(self) -> None:
        errors.install_handlers(self)

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext]
    ) -> ValidationError:
        """Name each field as the client wrote it: `ip`, not `query.ip.lax-or-strict[...]`."""
        errors = []
        for context in error_contexts:
            model = context.model
            for error in context.pydantic_validation_error.errors(include_url=False):
                path = _client_path(model, tuple(error["loc"]))
                errors.append(
                    {
                        "loc": (model.__ninja_param_source__, *path),
                        "msg": error["msg"],
                        "type": error["type"],
                    }
                )
        return ValidationError(errors)

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = NinjaAPI.urls.fget(self)  # type: ignore[attr-defined]
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_view(pattern.callback, pattern.name in _DOCS_VIEWS)
        return [*patterns, re_path(r"", _unknown_route, name="unknown-route")], app_name, namespace

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        _document_problems(schema)
        return schema


def _client_path(model: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # ninja flattens schema-typed parameters (`query: Query[Filters]` -> `?ip=`); map the
    # longest known prefix back, then drop the argument name of a single body and the
    # validator descriptions pydantic adds for union members (no field name has a "[").
    reverse = model.__ninja_flatten_map_reverse__
    for length in range(len(loc), 0, -1):
        if loc[:length] in reverse:
            loc = (*reverse[loc[:length]], *loc[length:])
            break
    single = getattr(model, "__read_from_single_attr__", None)
    if single and loc[:1] == (single,):
        loc = loc[1:]
    return tuple(part for part in loc if not (isinstance(part, str) and "[" in part))


def _as_problem(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """ninja answers a wrong method with a bare 405; give it the problem+json body."""
    if response.status_code == 405 and response.get("Content-Type") != errors.PROBLEM_JSON:
        return _method_not_allowed(request, response["Allow"])
    return response


def _method_not_allowed(request: HttpRequest, allow: str) -> HttpResponse:
    return errors.problem_response(
        request,
        errors.ProblemType.METHOD_NOT_ALLOWED,
        f"{request.method} is not allowed here; use {allow}.",
        headers={"Allow": allow},
    )


def _problem_view(view: Callable[..., Any], safe_only: bool) -> Callable[..., Any]:
    def before(request: HttpRequest) -> HttpResponse | None:
        if safe_only and request.method not in _SAFE_METHODS:
            return _method_not_allowed(request, "GET, HEAD")
        return None

    if iscoroutinefunction(view):

        async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = before(request)
            if refused is not None:
                return refused
            try:
                return _as_problem(request, await view(request, *args, **kwargs))
            except Http404 as exc:
                return errors.on_not_found(request, exc)

        wrapper: Callable[..., Any] = markcoroutinefunction(async_wrapper)
    else:

        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = before(request)
            if refused is not None:
                return refused
            try:
                return _as_problem(request, view(request, *args, **kwargs))
            except Http404 as exc:  # ninja's root view raises it outside any operation
                return errors.on_not_found(request, exc)

    functools.update_wrapper(wrapper, view)
    # Operations do their own CSRF checks (session auth); the docs views refuse unsafe methods.
    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper


def _unknown_route(request: HttpRequest) -> HttpResponse:
    return errors.problem_response(
        request,
        errors.ProblemType.NOT_FOUND,
        "No API route matches this path; the routes are listed at /api/docs.",
    )


_unknown_route.csrf_exempt = True  # type: ignore[attr-defined]


# --- the problem responses in the OpenAPI document -------------------------------------------

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_SCHEMAS = {
    "Problem": {
        "title": "Problem",
        "description": "An RFC 9457 problem details object; see docs/api-errors.md.",
        "type": "object",
        "required": ["type", "title", "status", "detail", "instance"],
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "instance": {"type": "string", "format": "uri-reference"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
        "additionalProperties": True,
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["location", "field", "message", "code"],
        "properties": {
            "location": {
                "type": "string",
                "enum": ["body", "query", "path", "header", "cookie", "form", "file"],
            },
            "field": {"type": "string", "description": "dotted path; empty for the whole body"},
            "message": {"type": "string"},
            "code": {"type": "string"},
        },
    },
}


def _problem_statuses(method: str, operation: dict[str, Any]) -> list[int]:
    statuses = [400, 404, 500]
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append(422)
    if "requestBody" in operation:
        statuses += [413, 415]
    if operation.get("security"):
        statuses += [401, 403]
    if method in {"post", "put", "patch", "delete"}:
        statuses.append(409)
    return sorted(statuses)


def _document_problems(schema: dict[str, Any]) -> None:
    schema.setdefault("components", {}).setdefault("schemas", {}).update(_SCHEMAS)
    for item in schema["paths"].values():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in _problem_statuses(method, operation):
                response = responses.setdefault(status, {"description": HTTPStatus(status).phrase})
                response.setdefault("content", {})[errors.PROBLEM_JSON] = {"schema": _PROBLEM_REF}


# --- /api/problems/<slug>: what each problem type means ---------------------------------------


class ProblemTypeOut(Schema):
    type: str
    title: str
    status: int
    description: str


problems_router = Router()


@problems_router.get(
    "/{slug}",
    response=ProblemTypeOut,
    summary="What a problem type means",
    description="Each problem's `type` member is this URL; the list is in docs/api-errors.md.",
)
def problem_type(request: HttpRequest, slug: str) -> ProblemTypeOut:
    if slug not in errors.ProblemType.values:
        raise Http404(f"There is no problem type {slug[:40]!r}.")
    problem = errors.ProblemType(slug)
    return ProblemTypeOut(
        type=errors.type_uri(problem),
        title=problem.label,
        status=errors.STATUS[problem],
        description=errors.DESCRIPTIONS[problem],
    )


api = DesppAPI(
    title="DESPP Platform API",
    version="1",
    description=(
        "911/CAD, records, credentials, forensics and emergency management. Staff endpoints "
        "take `Authorization: Bearer <token>` (`despp token create USERNAME`) or a signed-in "
        "session. Every error is an RFC 9457 `application/problem+json` object."
    ),
    urls_namespace="api",
)
api.add_router("/", api_geography.router, tags=["geography"])
api.add_router("/", api_identity.router, tags=["identity"])
api.add_router("/audit", api_audit.router, tags=["audit"])
api.add_router("/dispatch", dispatch_router, tags=["dispatch"])
api.add_router("/forensics", forensics_router, tags=["forensics"])
api.add_router("/problems", problems_router, tags=["errors"])
