"""Template tags that give every page the department and its divisions without a request.

The base layout reads these through tags rather than the context, so that the 500 page (which
Django renders with an empty context) looks like every other page of the site.
"""

from django import template

from despp.portal.content import DEPARTMENT, DIVISIONS, Department, Division, Item

register = template.Library()


@register.simple_tag
def get_department() -> Department:
    return DEPARTMENT


@register.simple_tag
def get_divisions() -> tuple[Division, ...]:
    return DIVISIONS


@register.filter
def item_url(division: Division, item: Item) -> str:
    """`{{ division|item_url:item }}`: the item's own page, or its anchor on the division page."""
    return division.item_url(item)
