"""Django admin for the dispatch tables, one module per area (imported here so Django's admin
autodiscovery finds them)."""

from despp.dispatch import (
    admin_codes,  # noqa: F401
    admin_units,  # noqa: F401
)
