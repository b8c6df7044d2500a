"""/api/admin/... paths of the Admin seed page that belong to the foundation."""

from __future__ import annotations

from resolvers.catalog import defaults
from resolvers.common.bodies import ConfigIn, NewAccountIn
from resolvers.demo import seed as demo_seed
from resolvers.identity import access_codes, account_config, accounts
from rest_compat.endpoint import Call, endpoint


@endpoint(
    "POST",
    "/api/admin/newaccount",
    "Create an account, its first plant, admin user and API key (system key)",
    tag="Admin",
    auth="system",
    body=NewAccountIn,
    envelope="result",
)
async def post_new_account(call: Call) -> object:
    return await accounts.create_account(actor=call.actor, data=call.body)


@endpoint("GET", "/api/admin/config", "List every config key with its value, type and default", tag="Admin")
async def get_config(call: Call) -> object:
    return await account_config.list_config(actor=call.actor)


@endpoint("POST", "/api/admin/config", "Set config values", tag="Admin", body=ConfigIn)
async def post_config(call: Call) -> object:
    return [await account_config.set_config(actor=call.actor, config=call.body.config)]


@endpoint("GET", "/api/admin/access-code", "List access codes", tag="Admin")
async def get_access_codes(call: Call) -> object:
    return await access_codes.list_access_codes(actor=call.actor)


@endpoint(
    "POST", "/api/admin/access-code", "Create an access code (operator role)", tag="Admin", envelope="result"
)
async def post_access_code(call: Call) -> object:
    return await access_codes.create_access_code(actor=call.actor)


@endpoint(
    "DELETE", "/api/admin/access-code/{code}", "Revoke an access code at once", tag="Admin", envelope="empty"
)
async def delete_access_code(call: Call) -> object:
    await access_codes.delete_access_code(actor=call.actor, code=call.path("code"))
    return None


@endpoint(
    "POST",
    "/api/admin/seedrun",
    "Install the default cause tree and config (idempotent)",
    tag="Admin",
    envelope="ok",
)
async def post_seed_run(call: Call) -> object:
    await defaults.seed_run(actor=call.actor)
    return None


@endpoint(
    "POST",
    "/api/admin/seedrun/demo",
    "Lay out the demo plant in the account's first plant and write a week of history (idempotent)",
    tag="Admin",
    envelope="result",
)
async def post_seed_run_demo(call: Call) -> object:
    return await demo_seed.seed_demo(actor=call.actor)
