"""Shared fixtures: personas per role and agency live here (see tests/personas.py)."""
