"""WSGI entry point, for servers that cannot speak ASGI (no live feeds there)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "despp.settings")
application = get_wsgi_application()
