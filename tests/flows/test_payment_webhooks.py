"""The payment webhook endpoint, fed by the Stripe stand-in and its hosted page, over real HTTP, no worker.

Given a booking with an open Stripe session, each request below is answered with the right status,
and a refused one leaves no stored event, no queued job and the booking as it was.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import dramatiq
import pytest
from aiohttp import web

from booking_core.database import create_engine, create_session_factory
from booking_core.models import BookingStatus
from tests.flows.harness import Booked, BrokerPlan, Flow, FlowOpener, paid_but_webhook_lost, wait_until
from tests.payments import signing
from tests.support.stripe import WEBHOOK_SECRET
from tests.support.web import free_local_socket, serving_on
from webhooks.app import MAX_BODY_BYTES, create_web_app
from webhooks.keys import JobQueue
from webhooks.payments import setup_payment_routes
from workers.jobs import DramatiqJobs
from workers.payments import PAYMENT_ACTORS, PAYMENTS_QUEUE
from workers.registry import register_actors

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def flow(open_test_flow: FlowOpener, redis_broker: BrokerPlan) -> AsyncIterator[Flow]:
    """The web side alone: what it stores and enqueues stays there for the test to see."""
    async with open_test_flow(redis_broker, worker=False) as flow:
        yield flow


@pytest.fixture
async def booked(flow: Flow) -> Booked:
    """A booking of two seats awaiting payment on an open Stripe session."""
    return await flow.book(1001, flow.show.seat_ids[:2])


async def completed_event(flow: Flow, booked: Booked) -> tuple[bytes, dict[str, str]]:
    """The signed `checkout.session.completed` Stripe sent when the customer paid (lost on its way)."""
    event = await paid_but_webhook_lost(flow, booked)
    return event.body, {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": event.signature,
    }


def queued_jobs(flow: Flow) -> int:
    """Messages waiting for the payment workers (Redis broker)."""
    return int(flow.broker.do_qsize(PAYMENTS_QUEUE) or 0)  # type: ignore[attr-defined]


def queued_event_ids(flow: Flow) -> list[int]:
    """The stored events the waiting payment jobs name, sorted: a lone event's job names one, a batch's
    job (`process_payment_events`) names each of its events."""
    broker = flow.broker
    encoded = broker.client.hvals(f"{broker.namespace}:{PAYMENTS_QUEUE}.msgs")  # type: ignore[attr-defined]
    named: list[int] = []
    for message in map(dramatiq.Message.decode, encoded):
        [argument] = message.args
        named += argument if isinstance(argument, list) else [argument]
    return sorted(named)


async def jobs_sent(flow: Flow, expected: int, within: float = 5.0) -> int:
    """The messages waiting for the payment workers once `expected` are (a job is sent after the answer),
    or when `within` seconds have passed; looked at a little later still, so that one too many shows."""
    deadline = time.monotonic() + within
    while True:
        if queued_jobs(flow) >= expected or time.monotonic() > deadline:
            await asyncio.sleep(0.1)
            return queued_jobs(flow)
        await asyncio.sleep(0.01)


def _signed(body: bytes, secret: str = WEBHOOK_SECRET, age: int = 0) -> dict[str, str]:
    header = signing.sign(body, secret, timestamp=int(time.time()) - age)
    return {"Content-Type": "application/json", "Stripe-Signature": header}


def _forged(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    timestamp = headers["Stripe-Signature"].split(",")[0]
    return body, {**headers, "Stripe-Signature": f"{timestamp},v1={'0' * 64}"}


def _tampered(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    tampered = body.replace(b'"amount_total": ', b'"amount_total": 1')
    assert tampered != body
    return tampered, headers


def _wrong_secret(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, _signed(body, secret="whsec_someone_else")


def _missing_header(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, {"Content-Type": "application/json"}


def _ten_minutes_old(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, _signed(body, age=600)


def _from_the_future(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    return body, _signed(body, age=-600)


def _malformed_json(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    broken = body[: len(body) // 2]
    return broken, _signed(broken)


def _not_an_event(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    other = json.dumps({"id": "evt_1", "type": "checkout.session.completed", "data": "nope"}).encode()
    return other, _signed(other)


def _over_the_limit(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    event = json.loads(body)
    event["data"]["object"]["padding"] = "x" * MAX_BODY_BYTES
    big = json.dumps(event).encode()
    return big, _signed(big)


def _unknown_type(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    event = json.loads(body)
    event.update(type="customer.created", data={"object": {"id": "cus_1", "object": "customer"}})
    other = json.dumps(event).encode()
    return other, _signed(other)


Mutation = Callable[[bytes, dict[str, str]], tuple[bytes, dict[str, str]]]


@pytest.mark.parametrize(
    ("mutate", "status", "answer"),
    [
        (_forged, 400, {"status": "rejected", "error": "bad_signature"}),
        (_tampered, 400, {"status": "rejected", "error": "bad_signature"}),
        (_wrong_secret, 400, {"status": "rejected", "error": "bad_signature"}),
        (_missing_header, 400, {"status": "rejected", "error": "missing_signature"}),
        (_ten_minutes_old, 400, {"status": "rejected", "error": "stale_timestamp"}),
        (_from_the_future, 400, {"status": "rejected", "error": "future_timestamp"}),
        (_malformed_json, 400, {"status": "rejected", "error": "malformed_body"}),
        (_not_an_event, 400, {"status": "rejected", "error": "malformed_body"}),
        (_over_the_limit, 413, {"status": "too_large"}),
        (_unknown_type, 200, {"status": "ignored"}),
    ],
    ids=lambda value: getattr(value, "__name__", None) or str(value),
)
async def test_refused_or_ignored_webhooks_change_nothing(
    flow: Flow, booked: Booked, mutate: Mutation, status: int, answer: dict[str, str]
) -> None:
    # Given a genuine completed event, changed as the case says
    body, headers = mutate(*await completed_event(flow, booked))
    # When it is posted
    got_status, got_answer = await flow.post_webhook("stripe", body, headers)
    # Then the answer says why, and nothing was stored, queued or confirmed
    assert (got_status, got_answer) == (status, answer)
    assert await flow.event_rows() == []
    assert queued_jobs(flow) == 0
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.PENDING_PAYMENT


async def test_a_genuine_event_is_stored_once_and_enqueued_once(flow: Flow, booked: Booked) -> None:
    # Given a genuine completed event
    body, headers = await completed_event(flow, booked)
    # When it arrives, then arrives again (the provider retried)
    first = await flow.post_webhook("stripe", body, headers)
    second = await flow.post_webhook("stripe", body, headers)
    # Then the first is accepted, the second acknowledged as a duplicate
    assert first == (200, {"status": "accepted"})
    assert second == (200, {"status": "duplicate"})
    # And the raw body is stored once, unprocessed, with one job queued for it
    rows = await flow.event_rows()
    assert [(row.provider, row.event_type, row.payload.encode(), row.outcome) for row in rows] == [
        ("stripe", "checkout.session.completed", body, None)
    ]
    assert await jobs_sent(flow, 1) == 1


async def test_concurrent_webhooks_are_each_stored_once_and_enqueued_once(flow: Flow) -> None:
    # Given four bookings paid at once, their completed events lost on the way
    bookings = [await flow.book(2001 + n, [flow.show.seat_ids[n]]) for n in range(4)]
    events = [await completed_event(flow, booked) for booked in bookings]
    # When each arrives twice, all at the same time (the provider retrying while the first is handled)
    answers = await asyncio.gather(*(flow.post_webhook("stripe", *event) for event in events * 2))
    # Then each is accepted once and acknowledged as a duplicate once
    outcomes = sorted((code, answer["status"]) for code, answer in answers)
    assert outcomes == [(200, "accepted")] * 4 + [(200, "duplicate")] * 4
    # And each raw body is stored once, and named by one queued job (events stored together share one)
    rows = await flow.event_rows()
    assert sorted(row.payload.encode() for row in rows) == sorted(body for body, _headers in events)
    await wait_until(lambda: _named_all(flow, len(rows)), within=5, what="the jobs of all four events")
    await asyncio.sleep(0.1)  # so that a job sent twice would show
    assert queued_event_ids(flow) == sorted(row.id for row in rows)


async def _named_all(flow: Flow, count: int) -> bool:
    return len(queued_event_ids(flow)) >= count


async def test_an_unknown_provider_is_not_found(flow: Flow, booked: Booked) -> None:
    body, headers = await completed_event(flow, booked)
    assert await flow.post_webhook("paypal", body, headers) == (404, {"status": "unknown_provider"})
    # The demo's old provider is gone: its path is no provider either.
    assert await flow.post_webhook("sandbox", body, headers) == (404, {"status": "unknown_provider"})
    assert await flow.event_rows() == []


async def test_database_down_answers_503_so_the_provider_retries(flow: Flow, booked: Booked) -> None:
    # Given the same web app, but its database unreachable (a PostgreSQL port nobody listens on)
    closed = free_local_socket()
    closed_port = closed.getsockname()[1]
    closed.close()
    engine = create_engine(f"postgresql+asyncpg://marquee@127.0.0.1:{closed_port}/marquee")
    app = create_web_app(
        settings=flow.settings,
        sessions=create_session_factory(engine),
        redis=flow.core.redis,
        payment_providers={"stripe": flow.core.payment_provider},
        jobs=flow.jobs,
        route_groups=[setup_payment_routes],
    )
    body, headers = await completed_event(flow, booked)
    try:
        # When a genuine event arrives
        status, answer = await _post_to(app, flow, body, headers)
    finally:
        await engine.dispose()
    # Then it is refused with 503 and nothing was queued
    assert (status, answer) == (503, {"status": "unavailable"})
    assert queued_jobs(flow) == 0
    # And once the database is back, the provider's retry is accepted
    assert await flow.post_webhook("stripe", body, headers) == (200, {"status": "accepted"})


async def test_an_event_stored_but_not_enqueued_is_still_accepted(
    flow: Flow, booked: Booked, redis_broker: BrokerPlan
) -> None:
    # Given a web app whose broker is unreachable
    closed = free_local_socket()
    closed_port = closed.getsockname()[1]
    closed.close()
    dead_broker = BrokerPlan(f"redis://127.0.0.1:{closed_port}/0", namespace=redis_broker.namespace).build()

    async def never_opened() -> Any:
        raise AssertionError("the web process never runs actors")

    jobs = DramatiqJobs(register_actors(dead_broker, PAYMENT_ACTORS, never_opened))
    app = _payments_app(flow, jobs)
    body, headers = await completed_event(flow, booked)
    try:
        status, answer = await _post_to(app, flow, body, headers)
    finally:
        dead_broker.close()
    # Then the provider is told it arrived (it is stored), for the periodic pass to enqueue later
    assert (status, answer) == (200, {"status": "accepted"})
    assert [row.outcome for row in await flow.event_rows()] == [None]


def _payments_app(flow: Flow, jobs: JobQueue) -> web.Application:
    """The web app with the payment routes alone, on the flow's core, sending jobs through `jobs`."""
    return create_web_app(
        settings=flow.settings,
        sessions=flow.core.sessions,
        redis=flow.core.redis,
        payment_providers={"stripe": flow.core.payment_provider},
        jobs=jobs,
        route_groups=[setup_payment_routes],
    )


class HeldJobs:
    """The flow's job queue, behind a gate: each send waits until the test opens it."""

    def __init__(self, flow: Flow) -> None:
        self.gate = threading.Event()
        self._jobs = flow.jobs

    def send_payment_events(self, payment_event_ids: list[int]) -> None:
        """Send the jobs once the gate is open."""
        self.gate.wait(timeout=30)
        self._jobs.send_payment_events(payment_event_ids)


async def test_the_provider_is_answered_once_the_event_is_stored_not_once_its_job_is_sent(
    flow: Flow, booked: Booked
) -> None:
    # Given a web app whose job queue does not take the job yet
    jobs = HeldJobs(flow)
    app = _payments_app(flow, jobs)
    body, headers = await completed_event(flow, booked)
    async with serving_on(app, free_local_socket()) as base_url:
        # When a genuine event arrives
        url = f"{base_url}/webhooks/payments/stripe"
        async with flow.http.post(url, data=body, headers=headers) as response:
            answer = response.status, await response.json()
        # Then it is accepted as soon as it is stored, while its job is not sent
        assert answer == (200, {"status": "accepted"})
        assert [row.outcome for row in await flow.event_rows()] == [None]
        assert queued_jobs(flow) == 0
        # And the server stopping waits for that send: once the queue takes it, the job is sent once
        asyncio.get_running_loop().call_later(0.2, jobs.gate.set)
    assert jobs.gate.is_set()
    assert queued_jobs(flow) == 1


async def test_metrics_count_webhooks_and_the_waiting_events(flow: Flow, booked: Booked) -> None:
    body, headers = await completed_event(flow, booked)
    await flow.post_webhook("stripe", body, headers)
    await flow.post_webhook("stripe", *_forged(body, headers))
    async with flow.http.get(f"{flow.base_url}/metrics") as response:
        text = await response.text()
    assert response.status == 200
    assert 'marquee_webhooks_total{outcome="accepted",source="payments"}' in text
    assert 'marquee_webhooks_total{outcome="rejected",source="payments"}' in text
    assert "marquee_payment_events_waiting 1.0" in text
    assert "marquee_payment_event_lag_seconds" in text


async def test_cancelling_on_the_hosted_page_leads_back_to_marquee_and_changes_nothing(
    flow: Flow, booked: Booked
) -> None:
    # When the customer opens the checkout link and follows its way back instead of paying
    async with flow.http.get(flow.session(booked.checkout_id)["url"]) as response:
        page = await response.text()
    cancel = re.search(r'href="([^"]+)">Cancel and go back<', page)
    assert response.status == 200 and cancel is not None, page
    async with flow.http.get(html.unescape(cancel[1])) as response:
        back = await response.text()
    # Then Marquee's own page says nothing was charged and the seats stay held for a while
    assert response.status == 200 and "Checkout cancelled" in back and "Nothing was charged" in back
    # And Stripe sent nothing, the session stays payable and the booking waits, as on Stripe
    assert flow.stripe.events == [] and await flow.event_rows() == []
    assert flow.session(booked.checkout_id)["status"] == "open"
    assert (await flow.booking(booked.booking_id)).status == BookingStatus.PENDING_PAYMENT


async def test_declining_on_the_hosted_page_leaves_the_checkout_payable(flow: Flow, booked: Booked) -> None:
    status, page = await flow.page_action(booked.checkout_id, "decline")
    assert status == 200 and "Card declined" in page
    assert [row.event_type for row in await flow.event_rows()] == ["payment_intent.payment_failed"]
    assert await jobs_sent(flow, 1) == 1
    async with flow.http.get(flow.session(booked.checkout_id)["url"]) as response:
        assert ">Pay 24.00 EUR<" in await response.text()


async def _post_to(app: web.Application, flow: Flow, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """Serve `app` on a free port just for one signed Stripe webhook; its status and JSON answer."""
    async with (
        serving_on(app, free_local_socket()) as base_url,
        flow.http.post(f"{base_url}/webhooks/payments/stripe", data=body, headers=headers) as response,
    ):
        return response.status, await response.json()
