"""Credential → Actor, with a revocable cache and a per-address limit on failed attempts."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

from cachetools import TTLCache

from models.identity import AccessCode, ApiKey
from models.roles import Role, effective
from models.secrets import digest, normalise_access_code, same_digest
from resolvers.common.actor import SYSTEM_ACCOUNT, Actor
from resolvers.common.changes import Change
from resolvers.common.errors import DomainError, ErrorCode, unauthorized
from resolvers.common.single_flight import SingleFlight

_MAX_SECRET = 200  # longer presented secrets are refused before any hashing or look-up


class FailureLimiter:
    """Counts failed authentications per client address in a sliding window."""

    def __init__(
        self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        # Bounded: an attacker rotating addresses cannot grow this without limit.
        self._failures: TTLCache[str, deque[float]] = TTLCache(maxsize=100_000, ttl=window_seconds)

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        cutoff = self._clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def check(self, address: str) -> None:
        """Raise 429 while `address` has used up its failures in the window."""
        times = self._recent(address)
        if times is not None and len(times) >= self.limit:
            wait = math.ceil(times[0] + self.window - self._clock())
            raise DomainError(
                ErrorCode.RATE_LIMITED,
                f"too many failed authentications; retry in {max(wait, 1)} s",
                retry_after=max(wait, 1),
            )

    def record_failure(self, address: str) -> None:
        times = self._recent(address)
        if times is None:
            times = deque()
        times.append(self._clock())
        self._failures[address] = times


class Authenticator:
    """Resolves API keys and access codes. Cached entries are dropped on every credential change."""

    def __init__(
        self,
        *,
        limiter: FailureLimiter,
        system_key: str | None,
        cache_seconds: float,
        cache_trusted: Callable[[], bool] = lambda: True,
    ) -> None:
        self.limiter = limiter
        self._system_digest = digest(system_key) if system_key else None
        self._cache: TTLCache[str, Actor] = TTLCache(maxsize=50_000, ttl=max(cache_seconds, 0.001))
        self._cache_enabled = cache_seconds > 0
        # Bumped on every credential change: a look-up that raced a revocation is not cached.
        self._generation = 0
        self._flight = SingleFlight()
        # False while cross-instance invalidation may be missed (bus disconnected): then every
        # request looks the credential up, so a revocation on another instance is never ignored.
        self._cache_trusted = cache_trusted

    async def on_change(self, change: Change) -> None:
        if change.kind == "credentials":
            self._generation += 1
            self._cache.clear()

    async def authenticate(
        self, *, api_key: str | None, access_code: str | None, address: str, allow_system: bool = False
    ) -> Actor:
        """The caller, or DomainError 401 (bad or missing credential) / 429 (address blocked)."""
        if not api_key and not access_code:
            raise unauthorized("no credential: send X-API-KEY, Authorization: Bearer or X-ACCESS-CODE")
        self.limiter.check(address)
        actor = await self._resolve(api_key, access_code, allow_system)
        if actor is None:
            self.limiter.record_failure(address)
            raise unauthorized("invalid credential")
        return actor

    async def resolve(self, *, api_key: str | None, access_code: str | None) -> Actor | None:
        """The actor a credential stands for now, without counting a failure (re-checks of open sockets)."""
        if not api_key and not access_code:
            return None
        return await self._resolve(api_key, access_code, allow_system=False)

    async def _resolve(
        self, api_key: str | None, access_code: str | None, allow_system: bool
    ) -> Actor | None:
        if api_key:
            if len(api_key) > _MAX_SECRET:
                return None
            key_digest = digest(api_key)
            if allow_system and self._system_digest and same_digest(key_digest, self._system_digest):
                return Actor(account_id=SYSTEM_ACCOUNT, role=Role.ADMIN, via="system")
            return await self._cached("k:" + key_digest, lambda: _actor_for_key(key_digest))
        assert access_code is not None
        code = normalise_access_code(access_code)
        if not code or len(code) > 32:
            return None
        return await self._cached("c:" + digest(code), lambda: _actor_for_code(code))

    async def _cached(self, cache_key: str, load: Callable[[], Awaitable[Actor | None]]) -> Actor | None:
        trusted = self._cache_trusted()
        if not trusted:
            self._cache.clear()  # entries may predate a revocation this process never heard of
        use_cache = self._cache_enabled and trusted
        if use_cache and (hit := self._cache.get(cache_key)) is not None:
            return hit
        generation = self._generation
        actor = await self._flight.run((cache_key, generation), load)
        if use_cache and actor is not None and generation == self._generation:
            self._cache[cache_key] = actor
        return actor


async def _actor_for_key(key_digest: str) -> Actor | None:
    key = await ApiKey.get_or_none(secret_hash=key_digest).select_related("user")
    if key is None or not same_digest(key.secret_hash, key_digest):
        return None
    role = effective(Role(key.user.role), Role(key.role) if key.role else None)
    return Actor(
        account_id=key.account_id,
        role=role,
        via="api-key",
        user_id=key.user.id,
        email=key.user.email,
        credential_id=key.id,
    )


async def _actor_for_code(code: str) -> Actor | None:
    row = await AccessCode.get_or_none(code=code)
    if row is None or not same_digest(digest(row.code), digest(code)):
        return None
    return Actor(
        account_id=row.account_id,
        role=Role.OPERATOR,
        via="access-code",
        credential_id=row.id,
    )
