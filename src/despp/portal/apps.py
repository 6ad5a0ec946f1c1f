from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "despp.portal"
    label = "portal"
    verbose_name = "Public services hub"
