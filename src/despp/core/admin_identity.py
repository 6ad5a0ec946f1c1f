"""Admin for agencies, users, API tokens, the event log and the access audit."""
