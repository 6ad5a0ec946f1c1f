from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "despp.core"
    label = "core"
    verbose_name = "Core (geography, identity, event log, audit)"

    def ready(self) -> None:
        from despp.core import signals  # noqa: F401  (connects the audit receivers)
