"""Importing this package registers every /api path (rest_compat.endpoint.ENDPOINTS)."""

from rest_compat.routes import admin, catalog, identity, meta, plants, stations

__all__ = ["admin", "catalog", "identity", "meta", "plants", "stations"]
