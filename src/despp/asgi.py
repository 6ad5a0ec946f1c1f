"""ASGI entry point: uvicorn serves this so Server-Sent Events can stream."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "despp.settings")
application = get_asgi_application()
