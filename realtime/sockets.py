"""Open GraphQL websockets per account, so a revoked credential closes its sockets at once."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from typing import Any

from resolvers.common.changes import Change
from resolvers.identity.authentication import Authenticator

log = logging.getLogger(__name__)

REVOKED = 4403


class LiveSockets:
    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator
        # Contexts vanish with their connection; a weak set needs no explicit clean-up.
        self._by_account: dict[str, weakref.WeakSet[Any]] = defaultdict(weakref.WeakSet)

    def add(self, context: Any) -> None:
        self._by_account[context.actor.account_id].add(context)

    async def on_change(self, change: Change) -> None:
        if change.kind != "credentials":
            return
        contexts = list(self._by_account.get(change.account_id, ()))
        checks = await asyncio.gather(*(self._still_valid(c) for c in contexts))
        for context, valid in zip(contexts, checks, strict=True):
            if not valid and context.websocket is not None:
                log.info("closing a websocket of account %s: its credential was revoked", change.account_id)
                await context.websocket.close(code=REVOKED, reason="credential revoked")

    async def _still_valid(self, context: Any) -> bool:
        api_key, access_code = context.credential
        actor = await self._authenticator.resolve(api_key=api_key, access_code=access_code)
        return actor is not None and actor.account_id == context.actor.account_id
