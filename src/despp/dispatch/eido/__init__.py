"""CAD-to-CAD interchange as NENA EIDO JSON (NENA-STA-021.1): export an incident, import one
received from another CAD, both validated against the schema shipped in data/eido/."""

from despp.dispatch.eido.export import ExportError, export_incident, tracking_id
from despp.dispatch.eido.importer import EidoInvalid, check, import_document
from despp.dispatch.eido.schema import PathError, schema_errors

__all__ = [
    "EidoInvalid",
    "ExportError",
    "PathError",
    "check",
    "export_incident",
    "import_document",
    "schema_errors",
    "tracking_id",
]
