"""API: the access audit, searchable by auditors."""

from ninja import Router

router = Router()
