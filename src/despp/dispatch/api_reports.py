"""JSON API routes (thin: they call services and selectors)."""

from ninja import Router

router = Router()
