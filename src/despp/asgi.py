"""ASGI entry point: uvicorn serves this so Server-Sent Events can stream."""

import os
import threading

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "despp.settings")
application = get_asgi_application()


def _warm_jurisdiction_index() -> None:
    # Building the index takes a few seconds; do it as the worker starts, not on the first
    # 911 call. A thread of its own, so the worker accepts requests meanwhile.
    from django.db import connection

    from despp.core import jurisdiction

    try:
        jurisdiction.warm()
    finally:
        connection.close()


threading.Thread(target=_warm_jurisdiction_index, name="warm-jurisdiction", daemon=True).start()
