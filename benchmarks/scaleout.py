"""Benchmark: scaling out. Telegram updates/s with one and with two `web` processes in webhook mode behind
a load balancer, and payment confirmations/s with one and with two `worker` processes.

    python -m benchmarks.scaleout
    BENCH_POSTGRES_URL   a PostgreSQL server (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres):
                         the benchmark creates a database of its own there and drops it at the end
    BENCH_REDIS_URL      a Redis db to use (default: a redis-server of the benchmark's own, on a free port)
    BENCH_RABBITMQ_URL   an amqp:// vhost to use, nobody else's (default: a new vhost on the local broker,
                         amqp://guest:guest@127.0.0.1:5672, made with rabbitmqctl and deleted at the end)
    BENCH_UPDATES, BENCH_CONFIRMATIONS   per phase (default 600 and 300); BENCH_ROUNDS (default 2)

The set-up is the ops tests' scale-out one (tests/ops/test_scale_out.py): real `python main.py` processes
(`sandbox`, `web`, `worker`) on PostgreSQL, Redis and RabbitMQ, the bot in webhook mode behind the
tests' round-robin load balancer (tests/ops/balancer.py), which runs in this process, as does the load
client. Everything listens on 127.0.0.1.
1. updates, one web process, then two: BENCH_UPDATES `/start` messages of as many new users, posted
   to the balancer as Telegram posts them (the update JSON with the secret-token header, 40 at a time:
   Telegram's default max_connections); each is done when the bot's answer is in that user's chat at
   the sandbox's Bot API (each /start saves the customer in SQL and answers with one message).
   updates_per_s = updates / (first post to last answer), after a warm-up of each process.
2. confirmations, one worker process, then two (both web processes take the webhooks): BENCH_CONFIRMATIONS
   one-seat bookings of a show of their own, opened as the bot opens them (hold, checkout at the Stripe
   stand-in), then their sessions paid at the stand-in, which signs checkout.session.completed (it posts
   nowhere: the bookings were opened for an address where nothing listens); this process posts those
   signed events to the balancer, 40 at a time. confirmations_per_s = bookings / (first event stored to
   last booking confirmed), from SQL. Each phase ends once every ticket is sent to its buyer's
   Telegram chat and SQL shows every seat sold once (tests/ops/invariants.py); the workers send the
   tickets paced at Telegram's free bulk budget meanwhile (25 a second overall, across the workers, in
   Redis): tickets_per_s is the fastest sending rate of a phase, from its first ticket sent to its last.
Each round measures one process, then two, for both; the figures are the best of the rounds (other
work on the machine only ever slows a phase down), and each round's own ratios are printed too. The
ratios (two processes against one) are what counts, and this machine's cores bound them: on 2 cores
two processes can at most double, and less when the balancer, the load client, the sandbox,
PostgreSQL, Redis and RabbitMQ share those cores.
Per phase it prints the CPU ms per item of each process and how busy the whole machine was: on a
machine already busy with other work, two processes get two shares of it, so the ratio can pass 2.
What a machine's load moves far less is the CPU the web processes (updates) or the workers
(confirmations) spend per item together: with one process and with two (the least of the rounds), it
says whether a second process adds work per item (coordination) or only shares it.
Last line: RESULT updates_per_s_1_web=<n> updates_per_s_2_web=<n> updates_ratio=<r>
confirmations_per_s_1_worker=<n> confirmations_per_s_2_worker=<n> confirmations_ratio=<r>
web_cpu_ms_per_update=<one>/<two> worker_cpu_ms_per_confirmation=<one>/<two> tickets_per_s=<n> cores=<n>
load1=<l>; without PostgreSQL or RabbitMQ: RESULT scaleout=skipped reason=<why>.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import asyncpg
import psutil
from sqlalchemy import func, select

from booking_core.models import Booking, BookingStatus, Notification, PaymentEvent
from booking_core.tickets.outbox import Channel, NotificationKind
from roles.migrate import upgrade_to_head
from tests.factories import ShowFixture, make_show
from tests.ops.balancer import Balancer, round_robin
from tests.ops.chat import ChatUser
from tests.ops.deployment import (
    OPS_STRIPE_API_KEY,
    OPS_STRIPE_WEBHOOK_SECRET,
    TELEGRAM_WEBHOOK_SECRET,
    Deployment,
    Sandbox,
    Services,
    deployed,
)
from tests.ops.invariants import Sales, settled_sales
from tests.ops.roles import RoleProcess, role_environment, start_role
from tests.ops.services import (
    PrivateRedis,
    create_database,
    create_vhost,
    delete_vhost,
    drop_database,
    free_port,
    rabbitmq_available,
)
from tests.ops.shop import Shop, open_shop
from webhooks.telegram import DEFAULT_PATH, SECRET_HEADER

UPDATES = int(os.environ.get("BENCH_UPDATES", "600"))
CONFIRMATIONS = int(os.environ.get("BENCH_CONFIRMATIONS", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
UPDATES_KIND, CONFIRMATIONS_KIND = "updates", "confirmations"
WARM_UP = 20  # updates per web process before its phase, not measured
# Telegram's default max_connections for a webhook: requests it has open to one bot at a time.
CONCURRENCY = 40
SEEDING_AT_ONCE = 10  # bookings opened at once: the shared server's connections are few
POLL_SECONDS = 0.1
PHASE_WITHIN = 180.0
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
RABBITMQ = os.environ.get("BENCH_RABBITMQ_URL", "")
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
STRIPE_WEBHOOK = "/webhooks/payments/stripe"
# Where the benchmark's bookings say they were opened: nothing listens, so the stand-in posts no event
# itself; this process posts them.
NOWHERE = "http://127.0.0.1:9"
FIRST_USER = 7_100_000
ROWS, SEATS_PER_ROW = 20, 40  # row labels are A-Z


class Skipped(Exception):
    """A service the benchmark needs is not there."""


# -- services ---------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, migrated database on BENCH_POSTGRES_URL's server, dropped afterwards."""
    try:
        url = await create_database(POSTGRES, prefix="bench_scaleout")
    except (OSError, asyncpg.PostgresError) as exc:
        raise Skipped(f"no PostgreSQL at {POSTGRES}: {exc}") from exc
    try:
        await asyncio.to_thread(upgrade_to_head, url)
        yield url
    finally:
        await drop_database(url)


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """BENCH_REDIS_URL, else a redis-server of our own for the duration."""
    if given := os.environ.get("BENCH_REDIS_URL"):
        yield given
        return
    server = PrivateRedis(folder)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """BENCH_RABBITMQ_URL, else a vhost of our own on the local broker (the roles' queue names are fixed)."""
    if RABBITMQ:
        yield RABBITMQ
        return
    if not rabbitmq_available():
        raise Skipped("no BENCH_RABBITMQ_URL and no rabbitmqctl to make a vhost with")
    try:
        url = create_vhost(LOCAL_RABBITMQ)
    except Exception as exc:  # rabbitmqctl's many ways of failing: no broker, no node, no rights
        raise Skipped(f"no vhost could be made on the local RabbitMQ: {exc}") from exc
    try:
        yield url
    finally:
        delete_vhost(url)


@contextlib.asynccontextmanager
async def sandbox_process(folder: Path, http: aiohttp.ClientSession) -> AsyncIterator[Sandbox]:
    """`python main.py sandbox` (Telegram's Bot API, the Stripe stand-in, ...) until the block ends."""
    port = free_port(pair=True)
    env = role_environment(
        SANDBOX_PORT=port, STRIPE_API_KEY=OPS_STRIPE_API_KEY, STRIPE_WEBHOOK_SECRET=OPS_STRIPE_WEBHOOK_SECRET
    )
    sandbox = Sandbox(port, start_role("sandbox", "sandbox", env, folder))
    try:
        await sandbox.process.wait_serving(sandbox.url + "/", http)
        yield sandbox
    finally:
        sandbox.process.terminate()
        await asyncio.to_thread(sandbox.process.wait_stopped)


# -- measuring --------------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one phase measured: its rate and the CPU seconds each process spent meanwhile."""

    kind: str  # UPDATES_KIND or CONFIRMATIONS_KIND
    processes: int  # web processes behind the balancer, or worker processes
    count: int
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0  # the share of the machine's CPU time (all cores, all users) not idle meanwhile
    tickets_per_s: float | None = None  # confirmations: the Telegram tickets' sending rate

    @property
    def per_second(self) -> float:
        """Items done per second."""
        return self.count / self.seconds if self.seconds else 0.0

    @property
    def role_cpu_ms(self) -> float:
        """CPU ms per item of the processes measured (the web processes for updates, else the workers)."""
        role = "web-" if self.kind == UPDATES_KIND else "worker-"
        return sum(seconds for name, seconds in self.cpu.items() if name.startswith(role)) * 1000 / self.count

    def describe(self) -> str:
        """One line: the rate and the CPU ms per item of each process."""
        cpu = " ".join(f"{name}={seconds * 1000 / self.count:.1f}" for name, seconds in self.cpu.items())
        return (
            f"{self.kind}, {self.processes} process(es): {self.count} in {self.seconds:.2f} s "
            f"= {self.per_second:.0f}/s; "
            f"machine {self.busy:.0%} busy; CPU ms per item: {cpu}"
            + (f"; tickets sent at {self.tickets_per_s:.1f}/s" if self.tickets_per_s is not None else "")
        )


@contextlib.contextmanager
def cpu_spent(phase: Phase, processes: Iterable[RoleProcess]) -> Iterator[None]:
    """Record in `phase.cpu` the CPU seconds each role process and this one (balancer, load client) use,
    and in `phase.busy` how busy the whole machine was."""
    watched = {process.name: psutil.Process(process.pid) for process in processes}
    watched["bench"] = psutil.Process()

    def used() -> dict[str, float]:
        return {name: sum(p.cpu_times()[:2]) for name, p in watched.items()}

    before, machine_before = used(), psutil.cpu_times()
    yield
    after, machine_after = used(), psutil.cpu_times()
    phase.cpu = {name: after[name] - before[name] for name in watched}
    spent = sum(machine_after) - sum(machine_before)
    idle = (machine_after.idle + machine_after.iowait) - (machine_before.idle + machine_before.iowait)
    phase.busy = 1 - idle / spent if spent else 0.0


async def post_all(
    http: aiohttp.ClientSession, url: str, requests: list[tuple[bytes, dict[str, str]]], expected: str
) -> None:
    """POST every request, CONCURRENCY at a time; each must be answered 200 with status `expected`."""
    queue = list(reversed(requests))

    async def client() -> None:
        while queue:
            body, headers = queue.pop()
            async with http.post(url, data=body, headers=headers) as answer:
                outcome = (await answer.json(content_type=None)).get("status")
            if answer.status != 200 or outcome != expected:
                raise SystemExit(f"{url} answered {answer.status} {outcome!r}, not 200 {expected!r}")

    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))


async def poll(check: Callable[[], Awaitable[bool]], what: str, every: float = POLL_SECONDS) -> None:
    """Until `check` is true (asked `every` seconds); fails past PHASE_WITHIN."""
    deadline = time.monotonic() + PHASE_WITHIN
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {PHASE_WITHIN} s waiting for {what}")
        await asyncio.sleep(every)


# -- updates ----------------------------------------------------------------------------------------


def start_update(update_id: int, user_id: int) -> tuple[bytes, dict[str, str]]:
    """`/start` from a new user as Telegram posts it to a webhook: the body and its headers."""
    user = {"id": user_id, "is_bot": False, "first_name": f"Fan{user_id}"}
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
        "from": user,
        "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": len("/start")}],
    }
    body = json.dumps({"update_id": update_id, "message": message}).encode()
    return body, {"Content-Type": "application/json", SECRET_HEADER: TELEGRAM_WEBHOOK_SECRET}


async def create_chats(http: aiohttp.ClientSession, sandbox: Sandbox, user_ids: list[int]) -> None:
    """Make the users known to the sandbox's Telegram, so the bot can write to them."""
    for start in range(0, len(user_ids), SEEDING_AT_ONCE):
        batch = user_ids[start : start + SEEDING_AT_ONCE]
        await asyncio.gather(*(ChatUser(http, sandbox.url, user_id).create() for user_id in batch))


async def answered(http: aiohttp.ClientSession, sandbox: Sandbox, user_ids: set[int]) -> bool:
    """Whether every one of the users has a message from the bot in their chat."""
    async with http.get(f"{sandbox.url}/sandbox/telegram/overview") as answer:
        users = (await answer.json())["users"]
    return sum(1 for user in users if user["id"] in user_ids and user["messages"] > 0) == len(user_ids)


@dataclass
class Users:
    """Hands out new Telegram users and update ids: every update is a new user's first."""

    next_user: int = FIRST_USER
    next_update: int = 1

    def take(self, count: int) -> tuple[list[int], list[int]]:
        """`count` new user ids and as many new update ids."""
        users = list(range(self.next_user, self.next_user + count))
        updates = list(range(self.next_update, self.next_update + count))
        self.next_user += count
        self.next_update += count
        return users, updates


async def updates_phase(
    http: aiohttp.ClientSession, sandbox: Sandbox, balancer: Balancer, users: Users, count: int
) -> float:
    """Post `count` /start updates of new users to the balancer; seconds from the first post to the last
    answer."""
    user_ids, update_ids = users.take(count)
    await create_chats(http, sandbox, user_ids)
    requests = [start_update(u, user) for u, user in zip(update_ids, user_ids, strict=True)]
    waiting = set(user_ids)
    started = time.perf_counter()
    await post_all(http, balancer.url + DEFAULT_PATH, requests, "queued")
    await poll(lambda: answered(http, sandbox, waiting), f"answers to {count} /start updates")
    return time.perf_counter() - started


async def measure_updates(
    http: aiohttp.ClientSession, deployment: Deployment, balancer: Balancer, users: Users
) -> Phase:
    """Warm up the web processes behind the balancer, then time UPDATES updates through it."""
    webs = len(balancer.backends)
    await updates_phase(http, deployment.sandbox, balancer, users, WARM_UP * webs)
    phase = Phase(UPDATES_KIND, webs, UPDATES)
    with cpu_spent(phase, [*deployment.processes, deployment.sandbox.process]):
        phase.seconds = await updates_phase(http, deployment.sandbox, balancer, users, UPDATES)
    return phase


# -- confirmations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sale:
    """Bookings of a show of their own, opened and paid at the provider; the signed events not yet posted."""

    show: ShowFixture
    booking_ids: list[int]
    events: list[tuple[bytes, dict[str, str]]]

    @property
    def event_ids(self) -> list[str]:
        """The provider's ids of the events."""
        return [json.loads(body)["id"] for body, _headers in self.events]


async def paid_sale(
    shop: Shop, http: aiohttp.ClientSession, sandbox: Sandbox, users: Users, count: int
) -> Sale:
    """`count` one-seat bookings by new users with Telegram chats, opened as the bot opens them, each paid
    at the Stripe stand-in, which signs its checkout.session.completed."""
    show = await make_show(shop.core.sessions, rows=ROWS, seats_per_row=SEATS_PER_ROW)
    user_ids, _ = users.take(count)
    await create_chats(http, sandbox, user_ids)

    async def pay(user_id: int, seat_id: int) -> tuple[int, tuple[bytes, dict[str, str]]]:
        booking = await shop.open_booking(user_id, [seat_id], show.show_id)
        url = f"{sandbox.stripe_api}/sandbox/stripe/sessions/{booking.checkout_id}/complete"
        async with http.post(url) as answer:
            assert answer.status == 200, await answer.text()
            signature = answer.headers["Stripe-Signature"]
            body = await answer.read()
        return booking.booking_id, (body, {"Content-Type": "application/json", "Stripe-Signature": signature})

    paid: list[tuple[int, tuple[bytes, dict[str, str]]]] = []
    for start in range(0, count, SEEDING_AT_ONCE):
        batch = range(start, min(start + SEEDING_AT_ONCE, count))
        paid += await asyncio.gather(*(pay(user_ids[i], show.seat_ids[i]) for i in batch))
    return Sale(show, [booking_id for booking_id, _ in paid], [event for _, event in paid])


async def all_confirmed(shop: Shop, booking_ids: list[int]) -> bool:
    """Whether every one of the bookings is confirmed (one count in SQL)."""
    async with shop.core.sessions() as session:
        confirmed = await session.scalar(
            select(func.count()).where(Booking.id.in_(booking_ids), Booking.status == BookingStatus.CONFIRMED)
        )
    return confirmed == len(booking_ids)


async def confirmation_span(shop: Shop, sale: Sale) -> float:
    """Seconds from the first of the sale's payment events stored to the last of its bookings confirmed."""
    async with shop.core.sessions() as session:
        first = await session.scalar(
            select(func.min(PaymentEvent.received_at)).where(PaymentEvent.event_id.in_(sale.event_ids))
        )
        last = await session.scalar(
            select(func.max(Booking.updated_at)).where(
                Booking.id.in_(sale.booking_ids), Booking.status == BookingStatus.CONFIRMED
            )
        )
    assert first is not None and last is not None
    return (last - first).total_seconds()


async def ticket_rate(shop: Shop, sale: Sale) -> float:
    """Telegram tickets of the sale sent per second, from the first sent to the last."""
    async with shop.core.sessions() as session:
        first, last = (
            await session.execute(
                select(func.min(Notification.sent_at), func.max(Notification.sent_at)).where(
                    Notification.booking_id.in_(sale.booking_ids),
                    Notification.channel == Channel.TELEGRAM,
                    Notification.kind == NotificationKind.TICKET,
                )
            )
        ).one()
    assert first is not None and last is not None
    return (len(sale.booking_ids) - 1) / max((last - first).total_seconds(), 1e-3)


async def confirm(shop: Shop, http: aiohttp.ClientSession, balancer: Balancer, sale: Sale) -> None:
    """Post the sale's events to the balancer, 40 at a time, until every booking is confirmed."""
    await post_all(http, balancer.url + STRIPE_WEBHOOK, sale.events, "accepted")
    await poll(lambda: all_confirmed(shop, sale.booking_ids), f"{len(sale.booking_ids)} bookings confirmed")


async def settled(shop: Shop, sale: Sale) -> None:
    """Until every ticket of the sale is sent to its buyer's chat and SQL shows each seat sold once."""
    count = len(sale.booking_ids)
    sales: Sales | None = None

    async def check() -> bool:
        nonlocal sales
        sales = await settled_sales(shop.core.sessions, sale.show.show_id, count)
        return sales is not None

    await poll(check, f"{count} sales settled, every ticket sent, nothing amiss", every=0.5)
    assert sales is not None and sorted(sales.sold_seats) == sorted(sale.show.seat_ids[:count]), "seats amiss"


async def measure_confirmations(
    http: aiohttp.ClientSession, deployment: Deployment, balancer: Balancer, shop: Shop, users: Users
) -> Phase:
    """Warm up the workers, then time CONFIRMATIONS confirmations; every sale settles before the next."""
    workers = len(deployment.workers)
    warm_up = await paid_sale(shop, http, deployment.sandbox, users, WARM_UP * workers)
    await confirm(shop, http, balancer, warm_up)
    await settled(shop, warm_up)
    sale = await paid_sale(shop, http, deployment.sandbox, users, CONFIRMATIONS)
    phase = Phase(CONFIRMATIONS_KIND, workers, CONFIRMATIONS)
    with cpu_spent(phase, [*deployment.processes, deployment.sandbox.process]):
        await confirm(shop, http, balancer, sale)
    phase.seconds = await confirmation_span(shop, sale)
    await settled(shop, sale)
    phase.tickets_per_s = await ticket_rate(shop, sale)
    return phase


# -- the run ----------------------------------------------------------------------------------------


async def measure_rounds(
    http: aiohttp.ClientSession, deployment: Deployment, balancer: Balancer, shop: Shop
) -> list[Phase]:
    """ROUNDS rounds of: updates through one web process, through two; confirmations by one worker, by two.

    Alternating one and two within each round keeps a change in the machine's other load from landing
    on one side only. A second worker is started for its phase and stopped after it.
    """
    users = Users()
    webs = [web.url for web in deployment.webs]
    phases: list[Phase] = []
    for _round in range(ROUNDS):
        for n in (1, 2):
            balancer.backends[:] = webs[:n]
            phases.append(await measure_updates(http, deployment, balancer, users))
        balancer.backends[:] = webs
        phases.append(await measure_confirmations(http, deployment, balancer, shop, users))
        second = deployment.start_worker("worker-2", public_base_url=balancer.url)
        await deployment.ready()
        phases.append(await measure_confirmations(http, deployment, balancer, shop, users))
        second.terminate()
        await asyncio.to_thread(second.wait_stopped)
        deployment.workers.remove(second)
    return phases


async def run(folder: Path) -> list[Phase]:
    """Start the services, the sandbox, two web processes (webhook mode) and a worker; measure."""
    with redis_server(folder / "redis") as redis_url, rabbitmq_vhost() as broker_url:
        async with (
            postgres_database() as database_url,
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY * 2)) as http,
            sandbox_process(folder / "sandbox", http) as sandbox,
            round_robin() as balancer,
            deployed(
                folder / "roles", Services(database_url, redis_url, broker_url), sandbox, http
            ) as deployment,
            open_shop(database_url, redis_url, NOWHERE, sandbox) as shop,
        ):
            webhook = balancer.url + DEFAULT_PATH
            for n in (1, 2):
                deployment.start_web(f"web-{n}", public_base_url=balancer.url, webhook_url=webhook)
            deployment.start_worker("worker-1", public_base_url=balancer.url)
            await deployment.ready()
            try:
                phases = await measure_rounds(http, deployment, balancer, shop)
            finally:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.post(f"{sandbox.bot_api}/deleteWebhook") as answer:
                        await answer.read()
            await deployment.shutdown()
    return phases


def best(phases: list[Phase], kind: str, processes: int) -> Phase:
    """The fastest of the rounds' phases of `kind` with `processes` processes."""
    return max(
        (phase for phase in phases if (phase.kind, phase.processes) == (kind, processes)),
        key=lambda phase: phase.per_second,
    )


def least_cpu_ms(phases: list[Phase], kind: str, processes: int) -> float:
    """The least CPU per item the measured processes spent together in the rounds' phases of `kind`."""
    return min(phase.role_cpu_ms for phase in phases if (phase.kind, phase.processes) == (kind, processes))


def round_ratios(phases: list[Phase]) -> list[tuple[float, float]]:
    """Per round (updates through 1 and 2 web processes, confirmations by 1 and 2 workers): the ratios."""
    rounds = [phases[start : start + 4] for start in range(0, len(phases), 4)]
    return [
        (web_2.per_second / web_1.per_second, worker_2.per_second / worker_1.per_second)
        for web_1, web_2, worker_1, worker_2 in rounds
    ]


def main() -> None:
    """Run the benchmark in a temporary folder and print the figures."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="marquee-bench-scaleout-") as folder:
        try:
            phases = asyncio.run(run(Path(folder)))
        except Skipped as skipped:
            print(f"RESULT scaleout=skipped reason={str(skipped).replace(' ', '_')[:200]}")
            return
    cores = os.cpu_count() or 0
    print(
        f"updates={UPDATES} confirmations={CONFIRMATIONS} per phase, rounds={ROUNDS}, "
        f"concurrency={CONCURRENCY}, cores={cores}"
    )
    print(f"load average (1 min) before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    for phase in phases:
        print(phase.describe())
    for number, (updates, confirmations) in enumerate(round_ratios(phases), 1):
        print(f"round {number}: updates ratio {updates:.2f}, confirmations ratio {confirmations:.2f}")
    one_web, two_web = (best(phases, UPDATES_KIND, n).per_second for n in (1, 2))
    one_worker, two_worker = (best(phases, CONFIRMATIONS_KIND, n).per_second for n in (1, 2))
    web_cpu = [least_cpu_ms(phases, UPDATES_KIND, n) for n in (1, 2)]
    worker_cpu = [least_cpu_ms(phases, CONFIRMATIONS_KIND, n) for n in (1, 2)]
    print(
        f"RESULT updates_per_s_1_web={one_web:.0f} updates_per_s_2_web={two_web:.0f} "
        f"updates_ratio={two_web / one_web:.2f} confirmations_per_s_1_worker={one_worker:.0f} "
        f"confirmations_per_s_2_worker={two_worker:.0f} confirmations_ratio={two_worker / one_worker:.2f} "
        f"web_cpu_ms_per_update={web_cpu[0]:.1f}/{web_cpu[1]:.1f} "
        f"worker_cpu_ms_per_confirmation={worker_cpu[0]:.1f}/{worker_cpu[1]:.1f} "
        f"tickets_per_s={max(phase.tickets_per_s or 0.0 for phase in phases):.1f} "
        f"cores={cores} load1={load_before:.2f}"
    )


if __name__ == "__main__":
    main()
