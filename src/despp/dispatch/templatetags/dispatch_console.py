"""Template helpers of the dispatcher console: elapsed times as a radio operator reads them."""

from django import template

from despp.core.models import Event
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
def event_summary(event: Event) -> str:
    """A timeline line: the kind in words and what it names ("Unit status changed on an
    incident: C-112 on_scene")."""
    try:
        words = str(Kind(event.kind).label)
    except ValueError:
        words = event.kind
    data = event.data if isinstance(event.data, dict) else {}
    details = [
        str(data[name])
        for name in ("call_sign", "to", "status", "disposition", "text", "decision")
        if isinstance(data.get(name), str | int) and data.get(name) != ""
    ]
    return f"{words}: {' '.join(details)[:120]}" if details else words
