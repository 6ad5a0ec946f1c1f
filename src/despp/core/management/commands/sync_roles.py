"""`despp sync-roles`: create the role groups from the matrix (idempotent).

`despp sync-roles --write-docs` also rewrites the generated tables in docs/roles.md from the
matrix in core/permissions.py; a test fails when the two disagree.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from despp.core.permissions import Role, matrix_markdown, sync_role_groups

BEGIN_MARK = (
    "<!-- BEGIN GENERATED MATRIX: edit core/permissions.py, then despp sync-roles --write-docs -->"
)
END_MARK = "<!-- END GENERATED MATRIX -->"


def generated_section(text: str) -> str:
    """The text between the markers of docs/roles.md."""
    try:
        start = text.index(BEGIN_MARK) + len(BEGIN_MARK)
        end = text.index(END_MARK, start)
    except ValueError as exc:
        raise CommandError("docs/roles.md lacks the generated-matrix markers") from exc
    return text[start:end].strip("\n") + "\n"


def with_generated_section(text: str) -> str:
    start = text.index(BEGIN_MARK) + len(BEGIN_MARK)
    end = text.index(END_MARK, start)
    return f"{text[:start]}\n{matrix_markdown()}{text[end:]}"


def default_docs_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "roles.md"


class Command(BaseCommand):
    help = "Create a Django group for every role in the role x action matrix (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--write-docs",
            nargs="?",
            const=str(default_docs_path()),
            metavar="PATH",
            help="also rewrite the generated matrix in docs/roles.md (or PATH)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created = sync_role_groups()
        if created:
            self.stdout.write(f"Created {len(created)} role group(s): {', '.join(created)}")
        self.stdout.write(f"{len(Role)} roles in place.")
        if options["write_docs"]:
            path = Path(options["write_docs"])
            text = path.read_text(encoding="utf-8")
            generated_section(text)  # fails clearly when the markers are missing
            path.write_text(with_generated_section(text), encoding="utf-8")
            self.stdout.write(f"Rewrote the matrix in {path}.")
