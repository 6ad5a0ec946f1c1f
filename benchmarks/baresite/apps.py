from django.apps import AppConfig


class BaresiteConfig(AppConfig):
    name = "benchmarks.baresite"
    label = "baresite"
    default_auto_field = "django.db.models.BigAutoField"
