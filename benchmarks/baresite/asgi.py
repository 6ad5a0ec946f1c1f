"""uvicorn entry point of the benchmark server: the real application, with the bare-insert
endpoint mounted by benchmarks.baresite.settings."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.baresite.settings")

from despp.asgi import application

__all__ = ["application"]
