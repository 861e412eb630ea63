"""Real Redis deployments on this machine: a Redis Cluster with replicas, and a master watched by Sentinel.

Both are made of Debian's `redis-server` processes on free local ports (each cluster node also gets a
free bus port through `cluster-port`), in a temporary folder, with short failure timeouts so a
failover takes a second or two. Every wait is bounded.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import redis
from redis.cluster import key_slot

from tests.ops.services import free_port

START_SECONDS = 15.0
FAILOVER_SECONDS = 20.0
# A node not answering for this long is failed over (cluster-node-timeout, Sentinel down-after).
NODE_TIMEOUT_MS = 1000


def redis_binaries_missing() -> str | None:
    """Why these deployments cannot be started here, or None when redis-server and redis-cli exist."""
    missing = [name for name in ("redis-server", "redis-cli") if shutil.which(name) is None]
    return f"{' and '.join(missing)} not installed (Debian's redis-server package)" if missing else None


def wait_until(condition: Callable[[], object], what: str, within: float) -> None:
    """Poll `condition` until it is true; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class RedisNode:
    """One redis-server process on a port of its own, its files in `folder`."""

    folder: Path
    extra: Sequence[str] = ()
    config: Path | None = None  # a configuration file to start from (Sentinel needs one it can rewrite)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (again, on its files) and wait until it answers PING."""
        self.folder.mkdir(parents=True, exist_ok=True)
        config = [str(self.config)] if self.config else []
        log = str(self.folder / "redis.log")
        command = ["redis-server", *config, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += [
            "--dir",
            str(self.folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            log,
            *self.extra,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, f"redis-server on port {self.port}", START_SECONDS)

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"redis-server exited: {(self.folder / 'redis.log').read_text()[-2000:]}")
        return bool(self.client().ping())

    def client(self) -> redis.Redis:
        """A plain synchronous client of this node alone (decoded strings)."""
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=1, decode_responses=True)

    def kill(self) -> None:
        """SIGKILL: the node dies at once, as in a crash, without saving anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=START_SECONDS)


class RedisClusterServers:
    """A Redis Cluster of three masters, each with one replica, made with `redis-cli --cluster create`."""

    MASTERS = 3

    def __init__(self, folder: Path) -> None:
        self.nodes = [
            RedisNode(folder / f"node{n}", self._cluster_options()) for n in range(self.MASTERS * 2)
        ]

    @staticmethod
    def _cluster_options() -> list[str]:
        options = {
            "cluster-enabled": "yes",
            "cluster-port": str(free_port()),  # the bus port, free like the node's own
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": str(NODE_TIMEOUT_MS),
            "repl-diskless-sync": "yes",  # a replica syncs at once, without a file on disk
            "repl-diskless-sync-delay": "0",
        }
        return [part for name, value in options.items() for part in (f"--{name}", value)]

    @property
    def url(self) -> str:
        """Marquee's URL for this cluster (every node listed; any one would do)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def start(self) -> None:
        """Start the six nodes, join them into a cluster, and wait until every node serves every slot."""
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=START_SECONDS * 2,
        )
        wait_until(self._healthy, "the cluster to form, with a replica for every master", START_SECONDS)

    def _healthy(self) -> bool:
        running = self.running()
        if not all(node.client().cluster("info")["cluster_state"] == "ok" for node in running):
            return False
        replicas = [node for node in running if node.client().info("replication")["role"] == "slave"]
        return len(replicas) == len(running) - self.MASTERS and all(
            node.client().info("replication")["master_link_status"] == "up" for node in replicas
        )

    def running(self) -> list[RedisNode]:
        """The nodes whose process is alive."""
        return [node for node in self.nodes if node.process is not None and node.process.poll() is None]

    def empty(self) -> None:
        """Empty every master (its replica follows): the session's cluster holds no earlier test's keys."""
        for node in self.running():
            if node.client().info("replication")["role"] == "master":
                node.client().flushall()

    def master_of(self, key: str) -> RedisNode:
        """The node serving the slot of `key` now (asked of any running node)."""
        slot = key_slot(key.encode())
        for low, high, master, *_replicas in self.running()[0].client().cluster("slots"):
            if low <= slot <= high:
                return next(node for node in self.nodes if node.port == int(master[1]))
        raise AssertionError(f"no node serves slot {slot}")

    def wait_until_whole(self) -> None:
        """Wait until every master has a replica in sync: under load a slow master can be failed over on
        its own (the node timeout is short), and the demoted node serves as a replica only once resynced."""
        wait_until(self._healthy, "every master to have a replica in sync", START_SECONDS)

    def kill_master_of(self, key: str) -> RedisNode:
        """Crash the master serving `key`; its replica takes over (see wait_for_failover)."""
        master = self.master_of(key)
        master.kill()
        return master

    def wait_for_failover(self, key: str, dead: RedisNode) -> RedisNode:
        """Wait until another node serves `key` and the cluster is whole again; that node."""
        survivor = self.running()[0].client()

        def promoted() -> bool:
            return survivor.cluster("info")["cluster_state"] == "ok" and self.master_of(key) is not dead

        try:
            wait_until(
                promoted, f"a replica to take over from the master on port {dead.port}", FAILOVER_SECONDS
            )
        except AssertionError as timeout:
            raise AssertionError(f"{timeout}; the cluster's nodes:\n{survivor.cluster('nodes')}") from None
        return self.master_of(key)

    def stop(self) -> None:
        """Stop every node (nothing of theirs is kept: a master would wait for its replicas on SIGTERM)."""
        for node in self.nodes:
            node.kill()


class SentinelGroup:
    """A master, its replica and one Sentinel watching them as service `marquee` (quorum 1)."""

    SERVICE = "marquee"

    def __init__(self, folder: Path) -> None:
        self.master = RedisNode(folder / "master", ["--repl-diskless-sync-delay", "0"])
        self.replica = RedisNode(folder / "replica", ["--replicaof", "127.0.0.1", str(self.master.port)])
        self.sentinel_folder = folder / "sentinel"
        self.sentinel = RedisNode(self.sentinel_folder, ["--sentinel"])

    @property
    def url(self) -> str:
        """Marquee's URL for the service's current master, db 0."""
        return f"redis+sentinel://127.0.0.1:{self.sentinel.port}/{self.SERVICE}/0"

    def start(self) -> None:
        """Start master, replica and Sentinel; wait until the Sentinel knows the replica."""
        self.master.start()
        self.replica.start()
        wait_until(
            lambda: self.replica.client().info("replication")["master_link_status"] == "up",
            "the replica to sync",
            START_SECONDS,
        )
        # Sentinel rewrites its configuration file, so it is started on one of its own.
        self.sentinel_folder.mkdir(parents=True, exist_ok=True)
        config = self.sentinel_folder / "sentinel.conf"
        config.write_text(
            f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.master.port} 1\n"
            f"sentinel down-after-milliseconds {self.SERVICE} {NODE_TIMEOUT_MS}\n"
            f"sentinel failover-timeout {self.SERVICE} 5000\n"
        )
        self.sentinel.config = config
        self.sentinel.start()
        wait_until(
            lambda: self.sentinel.client().sentinel_slaves(self.SERVICE),
            "the Sentinel to discover the replica",
            START_SECONDS,
        )

    def wait_replica_in_sync(self) -> None:
        """Until the replica has every write the master has acknowledged so far."""
        offset = self.master.client().info("replication")["master_repl_offset"]
        wait_until(
            lambda: self.replica.client().info("replication")["slave_repl_offset"] >= offset,
            "the replica to catch up",
            START_SECONDS,
        )

    def fail_over(self) -> None:
        """Crash the master; wait until the Sentinel names the replica as the new master."""
        self.master.kill()
        wait_until(
            lambda: self.current_master_port() == self.replica.port,
            "the Sentinel to promote the replica",
            FAILOVER_SECONDS,
        )
        wait_until(
            lambda: self.replica.client().info("replication")["role"] == "master", "promotion", START_SECONDS
        )

    def current_master_port(self) -> int:
        """The port of the master the Sentinel names now."""
        _host, port = self.sentinel.client().sentinel_get_master_addr_by_name(self.SERVICE)
        return int(port)

    def stop(self) -> None:
        """Stop all three."""
        for node in (self.sentinel, self.replica, self.master):
            node.kill()
