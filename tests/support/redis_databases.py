"""Databases of a shared Redis server (TEST_REDIS_URL) leased to one test process at a time.

Tests empty their database, so two processes on one database pull keys from under each other: the
processes of one run, and those of another run on the same machine (a second checkout, CI beside a
developer). Each process leases a free database number in database 0, keyed by its pid; a lease whose
process is gone is taken over.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psutil
import redis

DATABASES = range(1, 16)  # Redis's default 16 databases; 0 holds the leases
LEASE_KEY = "marquee-test:database-lease:{}"
# Take a lease over only from the holder seen dead (two processes may both see it so).
TAKE_OVER = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"
)
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


@contextmanager
def leased_database(server_url: str) -> Iterator[str]:
    """`server_url` pointed at a database no other live test process uses, for as long as the block runs."""
    me = str(os.getpid())
    leases = redis.Redis.from_url(urlunsplit(urlsplit(server_url)._replace(path="/0")))
    try:
        number = next((n for n in DATABASES if _lease(leases, LEASE_KEY.format(n), me)), None)
        if number is None:
            raise RuntimeError(f"every database of {server_url} is leased to a running test process")
        try:
            yield urlunsplit(urlsplit(server_url)._replace(path=f"/{number}"))
        finally:
            leases.eval(RELEASE, 1, LEASE_KEY.format(number), me)
    finally:
        leases.close()


def _lease(leases: redis.Redis, key: str, me: str) -> bool:
    if leases.set(key, me, nx=True):
        return True
    holder = leases.get(key)
    if holder is None or psutil.pid_exists(int(holder)):
        return False
    return bool(leases.eval(TAKE_OVER, 1, key, holder, me))
