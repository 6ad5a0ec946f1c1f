"""Append-only tables (the event log, the access audit): rows are inserted, never changed.

The model layer refuses updates and deletes here; database triggers installed by migration
0002 (see despp.core.appendonly) refuse them for every other client of the database too.
"""

from typing import Any, NoReturn

from django.db import models


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove a row of an append-only table."""


def refuse_change(model: type[models.Model], what: str) -> NoReturn:
    raise AppendOnlyError(f"{model._meta.db_table} is append-only: {what} refused")


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk UPDATE and DELETE bypass Model.save/delete, so they are refused here as well."""

    def update(self, **kwargs: Any) -> NoReturn:
        refuse_change(self.model, "UPDATE")

    def delete(self) -> NoReturn:
        refuse_change(self.model, "DELETE")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            refuse_change(type(self), "UPDATE")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        refuse_change(type(self), "DELETE")
