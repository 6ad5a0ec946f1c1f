"""Fixtures for the core tests: the shipped reference data (see tests/fixtures_reference.py)."""

from tests.fixtures_reference import (  # noqa: F401
    _reference_present,
    reference_data,
    reference_data_loaded,
)
