"""Tables (Tortoise models) and pure domain rules; imports no transport library."""

from __future__ import annotations

# The Tortoise app: every module holding tables, and where its migrations live.
APP_LABEL = "andon"
MODEL_MODULES = [
    "models.tenancy",
    "models.identity",
    "models.settings_store",
    "models.issues",
    "models.notifications",
    "models.windows",
    "models.outbox",
    "models.signals",
    "models.dead_letters",
]
MIGRATIONS_MODULE = "models.migrations"
