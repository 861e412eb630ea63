"""What a Redis URL names: one server, a master watched by Sentinel, or a Redis Cluster; a client for each.

    redis://host:6379/0, rediss://…, unix:///path?db=0          one server (redis-py's own URL forms)
    redis+sentinel://[user:pass@]s1:26379,s2:26379/service[/db]  the current master of `service`
    redis+cluster://[user:pass@]n1:6379,n2:6379                  a Redis Cluster (any reachable nodes)

`rediss+sentinel://` and `rediss+cluster://` speak TLS to the data nodes. Query parameters:
`max_connections` (per node; 100 by default) for every form, `sentinel_password` for Sentinels that
ask for one. A Cluster's client follows MOVED/ASK redirections and discovers the nodes; a Sentinel's
client asks the Sentinels for the master on every new connection, so both follow a failover.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast
from urllib.parse import parse_qs, unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

Mode = Literal["server", "sentinel", "cluster"]

_SCHEMES: dict[str, tuple[Mode, bool]] = {
    "redis": ("server", False),
    "rediss": ("server", True),
    "unix": ("server", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}
DEFAULT_PORTS = {"sentinel": 26379, "cluster": 6379}


class RedisUrlError(ValueError):
    """A Redis URL Marquee cannot use; the message says what is wrong with it."""


@dataclass(frozen=True)
class RedisTarget:
    """A parsed Redis URL: how to reach the data and with which credentials."""

    url: str
    mode: Mode
    tls: bool = False
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    max_connections: int | None = None


def parse_redis_url(url: str) -> RedisTarget:
    """Read a Redis URL of any form above; RedisUrlError says what is wrong with a bad one."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise RedisUrlError(f"expected one of {', '.join(s + '://' for s in _SCHEMES)}")
    mode, tls = _SCHEMES[scheme]
    if mode == "server":
        return RedisTarget(url=url, mode=mode, tls=tls)
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    query = parse_qs(parts.query)
    target = RedisTarget(
        url=url,
        mode=mode,
        tls=tls,
        nodes=tuple(_node(node, DEFAULT_PORTS[mode]) for node in hosts.split(",") if node),
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=query.get("sentinel_password", [None])[0],
        max_connections=_positive(query, "max_connections"),
    )
    if not target.nodes:
        raise RedisUrlError(f"{scheme}:// needs at least one host:port")
    path = [part for part in parts.path.split("/") if part]
    if mode == "cluster":
        if path and path != ["0"]:
            raise RedisUrlError("a Redis Cluster has database 0 only")
        return target
    if not path or len(path) > 2:
        raise RedisUrlError("redis+sentinel:// needs /service or /service/db after the hosts")
    db = _integer(path[1], "database") if len(path) == 2 else 0
    return replace(target, service=path[0], db=db)


def _node(text: str, default_port: int) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    return host.strip("[]"), _integer(port, "port") if port else default_port


def _integer(text: str, what: str) -> int:
    if not text.isdigit():
        raise RedisUrlError(f"{what} {text!r} is not a number")
    return int(text)


def _positive(query: dict[str, list[str]], name: str) -> int | None:
    if name not in query:
        return None
    value = _integer(query[name][0], name)
    if value < 1:
        raise RedisUrlError(f"{name} must be at least 1")
    return value


def is_cluster(url: str) -> bool:
    """True when `url` names a Redis Cluster."""
    return parse_redis_url(url).mode == "cluster"


def async_client(url: str, **options: Any) -> aioredis.Redis:
    """An asyncio client for whatever `url` names; `options` are redis-py connection options.

    A Cluster's client is redis-py's RedisCluster: it answers the same commands and runs registered
    scripts by EVALSHA on the node serving their keys (loading them on every primary after NOSCRIPT),
    so the core uses it through the same `Redis` interface.
    """
    target = parse_redis_url(url)
    if target.mode == "server":
        return aioredis.from_url(url, **options)
    options = _with_url_options(target, options)
    if target.mode == "cluster":
        nodes = [ClusterNode(host, port) for host, port in target.nodes]
        return cast(aioredis.Redis, aioredis.RedisCluster(startup_nodes=nodes, ssl=target.tls, **options))
    sentinel = AsyncSentinel(list(target.nodes), sentinel_kwargs=_sentinel_options(target, options))
    return sentinel.master_for(target.service, db=target.db, ssl=target.tls, **options)


def sync_client(url: str, **options: Any) -> redis.Redis:
    """A synchronous client (for Dramatiq's Redis broker) for one server or a Sentinel's master."""
    target = parse_redis_url(url)
    if target.mode == "cluster":
        raise RedisUrlError("Dramatiq's Redis broker does not support Redis Cluster")
    if target.mode == "server":
        return redis.Redis.from_url(url, **options)
    options = _with_url_options(target, options)
    sentinel = Sentinel(list(target.nodes), sentinel_kwargs=_sentinel_options(target, options))
    return sentinel.master_for(target.service, db=target.db, ssl=target.tls, **options)


def _with_url_options(target: RedisTarget, options: dict[str, Any]) -> dict[str, Any]:
    """The caller's options with the URL's credentials and pool size, which take precedence."""
    merged = {**options, "username": target.username, "password": target.password}
    if target.max_connections:
        merged["max_connections"] = target.max_connections
    return merged


def _sentinel_options(target: RedisTarget, options: dict[str, Any]) -> dict[str, Any]:
    # Sentinels get the timeouts of the data connections, and their own password if they have one.
    timeouts = {k: v for k, v in options.items() if k in ("socket_timeout", "socket_connect_timeout")}
    return {**timeouts, "password": target.sentinel_password}
