"""The JSON API: one NinjaAPI, each app contributes a router; errors are RFC 9457 problem+json."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="DESPP Platform API",
    version="1",
    description="911/CAD, records, credentials, forensics and emergency management.",
    urls_namespace="api",
)
