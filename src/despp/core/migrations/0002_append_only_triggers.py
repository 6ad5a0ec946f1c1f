"""Make the event log and the access audit append-only in the database itself (CJIS 5.4.5).

Triggers refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) on core_event and
core_accessaudit; the SQL for each vendor lives in despp.core.appendonly.
"""

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

from despp.core import appendonly


def install(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    appendonly.install(schema_editor.connection)


def uninstall(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    appendonly.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall)]
