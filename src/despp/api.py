"""The JSON API: one NinjaAPI, each app contributes a router; errors are RFC 9457 problem+json."""

from ninja import NinjaAPI

from despp.core import api_audit, api_geography, api_identity

api = NinjaAPI(
    title="DESPP Platform API",
    version="1",
    description="911/CAD, records, credentials, forensics and emergency management.",
    urls_namespace="api",
)
api.add_router("/", api_geography.router, tags=["geography"])
api.add_router("/", api_identity.router, tags=["identity"])
api.add_router("/audit", api_audit.router, tags=["audit"])
