"""Fixtures for the core tests: the shipped reference data (see tests/fixtures_reference.py)."""

from tests.fixtures_reference import reference_data, reference_snapshot  # noqa: F401
