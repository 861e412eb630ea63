"""Prometheus metrics that the core, the web server and the workers record (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

WEBHOOKS = Counter(
    "marquee_webhooks_total", "Webhooks received, by source and outcome", ["source", "outcome"]
)
CONFIRMATIONS = Counter("marquee_confirmations_total", "Payment events processed, by outcome", ["outcome"])
HOLD_ATTEMPTS = Counter("marquee_hold_attempts_total", "Seat hold attempts, by result", ["result"])
NOTIFICATIONS = Counter(
    "marquee_notifications_total", "Outbox deliveries, by channel and outcome", ["channel", "outcome"]
)
WEBHOOK_TO_CONFIRMATION = Histogram(
    "marquee_webhook_to_confirmation_seconds",
    "Time from a payment webhook's arrival to its booking being confirmed",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

# The payment event inbox (booking_core/payments/inbox.py): work owed to the workers, refreshed per scrape.
PAYMENT_EVENTS_WAITING = Gauge("marquee_payment_events_waiting", "Stored payment events not yet processed")
PAYMENT_EVENT_LAG = Gauge(
    "marquee_payment_event_lag_seconds", "How long the oldest unprocessed payment event has waited"
)
REFUNDS = Counter("marquee_refunds_total", "Refund attempts at payment providers, by outcome", ["outcome"])
CHECKOUT_EXPIRIES = Counter(
    "marquee_checkout_expiries_total",
    "Provider checkouts closed after their hold lapsed, by outcome",
    ["outcome"],
)

# Connected cinemas (DESIGN.md section 10): what their own ticketing systems answered.
THEATRE_LOCKS = Counter(
    "marquee_theatre_locks_total",
    "Seat locks asked of connected theatres, by system and result",
    ["system", "result"],
)
THEATRE_SALES = Counter(
    "marquee_theatre_sales_total",
    "Sales committed at connected theatres, by system and outcome",
    ["system", "outcome"],
)
THEATRE_SYNCS = Counter(
    "marquee_theatre_syncs_total",
    "Schedule syncs of connected theatres, by system and result",
    ["system", "result"],
)
