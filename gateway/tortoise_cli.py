"""Config for Tortoise's own CLI (`make migrations`): `tortoise -c gateway.tortoise_cli.TORTOISE_ORM makemigrations`."""

from __future__ import annotations

from gateway.database import tortoise_config
from gateway.settings import load_settings

TORTOISE_ORM = tortoise_config(load_settings().database_url)
