"""Types of the hub's content: the department, a division, and its resources, programs and
emergency services (items), each shown on the home page and on the division's landing page.
"""

from dataclasses import dataclass

from django.db import models
from django.urls import reverse


class Section(models.TextChoices):
    """The three kinds of offering the services page promises for every division."""

    RESOURCES = "resources", "Top resources"
    PROGRAMS = "programs", "Training programs"
    SERVICES = "services", "Emergency services"


@dataclass(frozen=True, slots=True)
class Department:
    name: str
    short_name: str
    state: str
    summary: str


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Item:
    """One resource, training program or emergency service of a division."""

    slug: str
    title: str
    summary: str
    detail: str
    href: str = ""
    link_text: str = ""  # the call to action when `href` points at a platform page


@dataclass(frozen=True, slots=True)
class Division:
    slug: str
    name: str
    acronym: str
    nav_label: str
    tagline: str
    purpose: str
    about: tuple[str, ...]
    facts: tuple[Fact, ...]
    resources: tuple[Item, ...]
    programs: tuple[Item, ...]
    services: tuple[Item, ...]
    # Other names people search for: the seed page itself names two divisions two ways.
    aliases: tuple[str, ...] = ()

    def get_absolute_url(self) -> str:
        return reverse("portal:division", kwargs={"slug": self.slug})

    def items(self, section: Section) -> tuple[Item, ...]:
        return {
            Section.RESOURCES: self.resources,
            Section.PROGRAMS: self.programs,
            Section.SERVICES: self.services,
        }[section]

    def sections(self) -> list[tuple[Section, tuple[Item, ...]]]:
        return [(section, self.items(section)) for section in Section]

    def item_url(self, item: Item) -> str:
        return item.href or f"{self.get_absolute_url()}#{item.slug}"
