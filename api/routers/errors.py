"""`/errors`: the catalogue of error codes; every problem+json `type` points at its entry here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.errors import catalogue

router = APIRouter(tags=["errors"])


@router.get("/errors", summary="Every error code: its title, HTTP status and meaning")
def errors() -> dict[str, dict[str, Any]]:
    """The codes are stable: match on `code` in an error body, never on its `detail` text."""
    return catalogue()
