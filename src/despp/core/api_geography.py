"""API: GET /api/locate and the reference geography (towns, troops, PSAPs)."""

from ninja import Router

router = Router()
