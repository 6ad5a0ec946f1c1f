"""Template helpers of the dispatcher console: elapsed times as a radio operator reads them."""

from django import template

from despp.dispatch.events import Kind

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    """42 -> "0:42", 754 -> "12:34", 4000 -> "1:06:40"; empty for no time."""
    if seconds is None or seconds == "":
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@register.filter
def event_label(kind: str) -> str:
    """An event kind as words ("unit.status" -> "Unit status changed on an incident")."""
    try:
        return str(Kind(kind).label)
    except ValueError:
        return kind
