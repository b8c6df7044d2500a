"""Importing this package registers every /api path (rest_compat.endpoint.ENDPOINTS)."""

from rest_compat.routes import (
    admin,
    catalog,
    identity,
    issues,
    meta,
    plants,
    preferences,
    schedules,
    signals,
    stations,
)

__all__ = [
    "admin",
    "catalog",
    "identity",
    "issues",
    "meta",
    "plants",
    "preferences",
    "schedules",
    "signals",
    "stations",
]
