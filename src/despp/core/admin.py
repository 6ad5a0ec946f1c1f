"""Admin registrations, one module per concern."""

from despp.core import admin_geography, admin_identity  # noqa: F401
