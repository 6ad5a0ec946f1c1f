"""Shared kernel: geography and jurisdiction, agencies and people, roles, the event log and the
access audit, and the API plumbing every other app builds on."""
