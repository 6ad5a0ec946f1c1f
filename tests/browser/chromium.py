"""Where the browser tests find Chromium, and what happens when it is not there."""

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_COMMAND = "sudo apt-get install chromium"
MISSING_MESSAGE = f"Chromium not found: install it with `{INSTALL_COMMAND}` to run browser tests"
# Debian's Chromium, headless, and quiet: no first-run UI, no background updates or pings.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def require_chromium(path: Path = CHROMIUM, environ: Mapping[str, str] = os.environ) -> None:
    """Skip on a developer machine without Chromium; fail in CI, where it must be installed
    (a silently skipped browser suite would hide accessibility regressions)."""
    if path.exists():
        return
    if environ.get("CI"):
        pytest.fail(f"{MISSING_MESSAGE} (CI must run the browser tests; .ci/run installs it)")
    pytest.skip(MISSING_MESSAGE)
