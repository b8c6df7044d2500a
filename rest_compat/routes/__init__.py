"""Importing this package registers every /api path (rest_compat.endpoint.ENDPOINTS)."""

from rest_compat.routes import (
    admin,
    catalog,
    dead_letters,
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
    "dead_letters",
    "identity",
    "issues",
    "meta",
    "plants",
    "preferences",
    "schedules",
    "signals",
    "stations",
]
