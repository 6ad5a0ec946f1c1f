"""Database triggers that make the event log and the access audit append-only (CJIS 5.4.5).

The model layer already refuses updates and deletes (models/appendonly.py); these triggers
refuse them for every other client of the database as well: raw SQL, a second application, a
console session. Whoever can drop a trigger can still get past it, which is why the event log
is hash-chained and `despp verify-log` also reports a trigger that is missing or disabled.

Both vendors raise an integrity error, so callers see `django.db.IntegrityError` either way.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

PROTECTED_TABLES = ("core_event", "core_accessaudit")

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION despp_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""


def _sqlite_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_append_only_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


def _pg_statements(table: str) -> list[str]:
    # TRUNCATE fires no row triggers, so it gets a statement trigger of its own.
    return [
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION despp_refuse_change()",
        f"DROP TRIGGER IF EXISTS {table}_append_only_truncate ON {table}",
        f"CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION despp_refuse_change()",
    ]


def _trigger_names(vendor: str, table: str) -> set[str]:
    if vendor == "postgresql":
        return {f"{table}_append_only", f"{table}_append_only_truncate"}
    return {f"{table}_append_only_update", f"{table}_append_only_delete"}


def _check_vendor(connection: BaseDatabaseWrapper) -> str:
    if connection.vendor not in {"sqlite", "postgresql"}:
        raise NotImplementedError(f"append-only triggers for {connection.vendor}")
    return connection.vendor


def install(connection: BaseDatabaseWrapper, tables: tuple[str, ...] = PROTECTED_TABLES) -> None:
    """Install (or re-install) the triggers; safe to run again."""
    vendor = _check_vendor(connection)
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute(_PG_FUNCTION)
        for table in tables:
            statements = (
                _pg_statements(table) if vendor == "postgresql" else _sqlite_statements(table)
            )
            for statement in statements:
                cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper, tables: tuple[str, ...] = PROTECTED_TABLES) -> None:
    vendor = _check_vendor(connection)
    with connection.cursor() as cursor:
        for table in tables:
            for name in sorted(_trigger_names(vendor, table)):
                suffix = f" ON {table}" if vendor == "postgresql" else ""
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}{suffix}")
        if vendor == "postgresql" and tables == PROTECTED_TABLES:
            cursor.execute("DROP FUNCTION IF EXISTS despp_refuse_change()")


def unprotected(connection: BaseDatabaseWrapper) -> dict[str, list[str]]:
    """For each protected table missing a trigger (or holding a disabled one), which ones."""
    vendor = _check_vendor(connection)
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # tgenabled 'D' means ALTER TABLE ... DISABLE TRIGGER; it no longer protects.
            cursor.execute(
                "SELECT c.relname, t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relname = ANY(%s) "
                "AND pg_table_is_visible(c.oid)",
                [list(PROTECTED_TABLES)],
            )
        else:
            cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
        present: dict[str, set[str]] = {table: set() for table in PROTECTED_TABLES}
        for table, name in cursor.fetchall():
            if table in present:
                present[table].add(name)
    missing = {
        table: sorted(_trigger_names(vendor, table) - present[table]) for table in PROTECTED_TABLES
    }
    return {table: names for table, names in missing.items() if names}


@contextmanager
def suspended(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Lift the protection for the duration of one transaction (`despp flush` only)."""
    with transaction.atomic(using=connection.alias):
        uninstall(connection)
        yield
        install(connection)
