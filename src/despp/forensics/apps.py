from django.apps import AppConfig


class ForensicsConfig(AppConfig):
    name = "despp.forensics"
    label = "forensics"
    verbose_name = "Forensic laboratory"
    # (action, label, URL name) shown on the staff home to whoever may take the action.
    staff_links = (("evidence.view", "Forensic laboratory", "forensics:home"),)
