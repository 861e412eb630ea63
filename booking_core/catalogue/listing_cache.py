"""Catalogue listings cached in Redis as JSON, all made stale at once by bumping a generation counter.

Keys are `catalogue:v1:<generation>:<listing>`; `invalidate()` is a single INCR of
`catalogue:v1:generation`, after which every reader builds new keys and the old ones expire on their
TTL. A reader that computed from the database before an import and stores afterwards writes under
the old generation, where nobody looks any more. Redis being down only costs speed: listings are
then read from the database. A listing read again unchanged (the same bytes under the same key) is not
parsed again: the value parsed last time is kept in the process (the views are frozen dataclasses).
A read is one round trip while the generation stays: the generation and the listing under the generation
read last go in one pipeline, and only when the generation has moved on is the listing read again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis
from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Bump when a cached view's shape changes, so a deploy never reads the old shape.
KEY_PREFIX = "catalogue:v1"
# Past this many parsed listings kept in the process, they are all dropped and parsed anew.
MAX_PARSED = 4096


class ListingCache:
    """Read-through cache of catalogue listings with one-INCR invalidation."""

    def __init__(self, redis: aioredis.Redis, ttl_seconds: int, prefix: str = KEY_PREFIX) -> None:
        self._redis = redis
        self._ttl_seconds = ttl_seconds
        self._prefix = prefix
        self._parsed: dict[str, tuple[bytes | str, object]] = {}
        # The generation this process read last: its listings are read together with the generation.
        self._generation: str | None = None

    @property
    def generation_key(self) -> str:
        """The counter that `invalidate()` increments."""
        return f"{self._prefix}:generation"

    async def get_or_compute(
        self, name: str, shape: TypeAdapter[T], compute: Callable[[], Awaitable[T]]
    ) -> T:
        """The cached listing `name`, or compute, store and return it."""
        key = None
        try:
            key, cached = await self._read(name)
        except RedisError:
            log.warning("catalogue cache unavailable; reading %s from the database", name, exc_info=True)
            cached = None
        if key is not None and cached is not None:
            try:
                return self._parse(key, cached, shape)
            except ValidationError:
                log.warning("unreadable cached listing %s; recomputing", key)
        value = await compute()
        if key is not None:
            try:
                await self._redis.set(key, shape.dump_json(value), ex=self._ttl_seconds)
            except RedisError:
                log.warning("could not cache %s", key, exc_info=True)
        return value

    async def _read(self, name: str) -> tuple[str, bytes | str | None]:
        """The key of listing `name` in the current generation, and what is cached under it."""
        guess = self._generation
        if guess is None:
            generation = _text(await self._redis.get(self.generation_key) or "0")
            cached = None
        else:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self.generation_key)
                pipe.get(self._key(guess, name))
                found, cached = await pipe.execute()
            generation = _text(found or "0")
        self._generation = generation
        if generation != guess:
            cached = await self._redis.get(self._key(generation, name))
        return self._key(generation, name), cached

    def _key(self, generation: str, name: str) -> str:
        return f"{self._prefix}:{generation}:{name}"

    def _parse(self, key: str, cached: bytes | str, shape: TypeAdapter[T]) -> T:
        """`cached` parsed, or the value parsed from the same bytes last time."""
        kept = self._parsed.get(key)
        if kept is not None and kept[0] == cached:
            return kept[1]  # type: ignore[return-value]  # the same key always has the same shape
        value = shape.validate_json(cached)
        if len(self._parsed) >= MAX_PARSED:
            self._parsed.clear()
        self._parsed[key] = (cached, value)
        return value

    async def invalidate(self) -> None:
        """Make every cached listing stale (if Redis is down, they go stale within their TTL anyway)."""
        try:
            await self._redis.incr(self.generation_key)
        except RedisError:
            log.error(
                "could not invalidate the catalogue cache; listings may lag up to %s s", self._ttl_seconds
            )


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
