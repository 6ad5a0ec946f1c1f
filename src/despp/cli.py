"""The `despp` console script: Django management commands, spelled with hyphens.

`despp load-reference` runs the `load_reference` command, `despp verify-log` runs `verify_log`,
and so on; `despp help` lists them all. DATABASE_URL and the other settings come from the
environment exactly as for the server.
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "despp.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["despp", *args])


if __name__ == "__main__":
    main()
