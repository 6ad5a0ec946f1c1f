"""API: the signed-in caller and API token management."""

from ninja import Router

router = Router()
