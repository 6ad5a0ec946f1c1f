"""The browser suite's behaviour when Chromium is missing (no browser needed to check this)."""

from pathlib import Path

import pytest

from tests.browser.chromium import INSTALL_COMMAND, require_chromium


def test_missing_chromium_on_a_developer_machine_skips_with_the_install_command(
    tmp_path: Path,
) -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_chromium(tmp_path / "no-chromium", environ={})
    assert str(skipped.value) == (
        f"Chromium not found: install it with `{INSTALL_COMMAND}` to run browser tests"
    )


def test_missing_chromium_in_ci_fails_instead_of_skipping(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        require_chromium(tmp_path / "no-chromium", environ={"CI": "true"})
    assert INSTALL_COMMAND in str(failed.value)


def test_present_chromium_neither_skips_nor_fails(tmp_path: Path) -> None:
    executable = tmp_path / "chromium"
    executable.touch()
    require_chromium(executable, environ={"CI": "true"})  # would raise Skipped or Failed
