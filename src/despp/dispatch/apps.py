from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "despp.dispatch"
    label = "dispatch"
    verbose_name = "911 and computer-aided dispatch"
    # (action, label, URL name) shown on the staff home to whoever may take the action.
    staff_links = (("incident.view", "Dispatch console", "dispatch:console"),)
