"""Parsing API request data strictly: JSON bodies only as application/json in UTF-8, with no
duplicated keys, non-finite numbers or text the databases cannot store (NUL characters, lone
surrogates) anywhere in a body, a query string or a form. Refusals become problem+json
through the handlers in despp.core.errors."""

import json
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from despp.core.errors import JSON_MEDIA_TYPE, MalformedBody, UnsupportedMediaType


def _reject_constant(name: str) -> float:
    raise MalformedBody(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    number = float(text)
    if number in {float("inf"), float("-inf")}:
        raise MalformedBody(f"the number {text[:40]} is too large")
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            # Parsers disagree on which duplicate wins; refuse rather than guess.
            raise MalformedBody(f"the key {key[:40]!r} appears twice in one object")
        result[key] = value
    return result


def _unstorable_strings(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of strings that no database here can store: NUL characters, lone surrogates."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [path]
        return [path] if "\x00" in value else []
    if not isinstance(value, dict | list):
        return []
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    found: list[tuple[Any, ...]] = []
    for key, item in items:
        if isinstance(key, str) and _unstorable_strings(key):
            found.append((*path, key))
        found += _unstorable_strings(item, (*path, key))
    return found


def _unstorable_error(location: str, path: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "type": "string_unstorable",
        "loc": (location, *path),
        "msg": "Text may not contain NUL characters or unpaired surrogates.",
    }


class StrictJSONParser(Parser):
    """JSON bodies only as application/json in UTF-8, parsed strictly; no unstorable text."""

    def parse_body(self, request: HttpRequest) -> Any:
        media_type = request.content_type or ""
        charset = (request.content_params or {}).get("charset", "utf-8").lower()
        is_json = media_type == JSON_MEDIA_TYPE or (
            media_type.startswith("application/") and media_type.endswith("+json")
        )
        if not is_json or charset not in {"utf-8", "utf8"}:
            raise UnsupportedMediaType(request.META.get("CONTENT_TYPE", ""))
        try:
            text = request.body.decode("utf-8")
            data = json.loads(
                text,
                parse_constant=_reject_constant,
                parse_float=_finite,
                object_pairs_hook=_unique_keys,
            )
        except UnicodeDecodeError as exc:
            raise MalformedBody(f"the body is not UTF-8 ({exc.reason})") from exc
        except ValueError as exc:  # a syntax error, or an integer of more than 4300 digits
            raise MalformedBody(str(exc)) from exc
        bad = _unstorable_strings(data)
        if bad:
            raise NinjaValidationError([_unstorable_error("body", path) for path in bad])
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        location = "query" if data is request.GET else "file" if data is request.FILES else "form"
        bad = [
            (key,)
            for key, values in data.lists()
            if _unstorable_strings(key) or any(_unstorable_strings(v) for v in values)
        ]
        if bad:
            raise NinjaValidationError([_unstorable_error(location, path) for path in bad])
        return super().parse_querydict(data, list_fields, request)
