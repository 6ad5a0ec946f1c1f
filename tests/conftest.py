"""Shared fixtures: personas per role and agency live in tests/personas.py.

Fixtures there: `agencies`, `persona` (any persona by name), `sign_in` (a signed-in client),
and one fixture per persona named after it (`dispatcher`, `trooper`, `trooper_f`, `norole`, …).
"""

pytest_plugins = ["tests.personas"]
