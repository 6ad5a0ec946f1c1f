"""Admin for towns, troops and counties."""
