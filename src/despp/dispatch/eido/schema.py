"""The shipped NENA EIDO JSON Schema (data/eido/, see its PROVENANCE.md) and validation that
names the JSON path of every error."""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "eido" / "eido.schema.json"
MAX_ERRORS = 50  # a wholly wrong document would otherwise list thousands


@dataclass(frozen=True)
class PathError:
    path: str  # JSONPath of the offending value, e.g. "$.callComponent[0].direction"
    message: str
    code: str  # the JSON Schema keyword that failed: required, enum, type, format...


@cache
def validator() -> Draft202012Validator:
    """One validator for the process: loading the 2.6 MB schema takes ~0.1 s.

    `date-time` is enforced (rfc3339-validator installed), as NENA's sample is checked."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        schema = json.load(handle)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _path_of(error: SchemaError) -> str:
    path = error.json_path
    if error.validator == "required" and isinstance(error.instance, dict):
        # jsonschema points at the object; name the missing member itself.
        for name in error.validator_value:
            if name not in error.instance and error.message == f"{name!r} is a required property":
                return f"{path}.{name}" if name.isidentifier() else f"{path}['{name}']"
    return path


def schema_errors(document: Any) -> list[PathError]:
    """Every schema error of the document (up to MAX_ERRORS), in document order."""
    found = sorted(validator().iter_errors(document), key=lambda e: [str(p) for p in e.path])
    errors: list[PathError] = []
    for error in found:
        entry = PathError(_path_of(error), error.message, str(error.validator))
        if entry not in errors:  # the same error reached through two allOf branches
            errors.append(entry)
    return errors[:MAX_ERRORS]
