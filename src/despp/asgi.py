"""ASGI entry point: uvicorn serves this so Server-Sent Events can stream.

Plain requests run on Django's synchronous stack in `DESPP_THREADS` reused threads per worker
(each keeping its database connection); event streams run on the asynchronous stack. See
despp/serving.py for why.
"""

import os
import threading

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from despp.config import env_int
from despp.serving import SyncFirst

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "despp.settings")
application = SyncFirst(
    get_asgi_application(),
    get_wsgi_application(),
    threads=env_int("DESPP_THREADS", 8, minimum=1),
)


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
