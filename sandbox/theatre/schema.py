"""The sandbox theatre's own database schema (SQLite): deliberately not Marquee's models.

Times are UNIX seconds (REAL, UTC). A seat of a show is taken by exactly one row of `seat_claims`
(a lock or a sale): its primary key is what keeps a seat from being locked or sold twice.
"""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS cinemas (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    timezone TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS halls (
    id TEXT PRIMARY KEY,
    cinema_id TEXT NOT NULL REFERENCES cinemas(id),
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS seats (
    hall_id TEXT NOT NULL REFERENCES halls(id),
    label TEXT NOT NULL,
    row_label TEXT NOT NULL,
    row_index INTEGER NOT NULL,
    number INTEGER NOT NULL,
    col INTEGER NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (hall_id, label)
);
CREATE TABLE IF NOT EXISTS movies (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    runtime_minutes INTEGER NOT NULL,
    age_rating TEXT NOT NULL,
    language TEXT NOT NULL,
    synopsis TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS shows (
    id TEXT PRIMARY KEY,
    cinema_id TEXT NOT NULL REFERENCES cinemas(id),
    hall_id TEXT NOT NULL REFERENCES halls(id),
    movie_id TEXT NOT NULL REFERENCES movies(id),
    starts_at REAL NOT NULL,
    currency TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    on_sale_at REAL,  -- a premiere: not on sale before this (NULL: on sale at once)
    queue INTEGER NOT NULL DEFAULT 0  -- 1: sold through the booking application's on-sale queue
);
CREATE INDEX IF NOT EXISTS ix_shows_starts_at ON shows (starts_at);
CREATE TABLE IF NOT EXISTS show_prices (
    show_id TEXT NOT NULL REFERENCES shows(id),
    category TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (show_id, category)
);
-- status: active, released, expired, committed
CREATE TABLE IF NOT EXISTS locks (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    show_id TEXT NOT NULL REFERENCES shows(id),
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    amount INTEGER NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    ticket_id TEXT
);
CREATE INDEX IF NOT EXISTS ix_locks_active ON locks (show_id, status, expires_at);
CREATE TABLE IF NOT EXISTS lock_seats (
    lock_id TEXT NOT NULL REFERENCES locks(id),
    label TEXT NOT NULL,
    PRIMARY KEY (lock_id, label)
);
-- client is the API client that sold it, or 'boxoffice'; status: valid, cancelled
CREATE TABLE IF NOT EXISTS tickets (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    show_id TEXT NOT NULL REFERENCES shows(id),
    reference TEXT NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ticket_seats (
    ticket_id TEXT NOT NULL REFERENCES tickets(id),
    label TEXT NOT NULL,
    PRIMARY KEY (ticket_id, label)
);
-- kind: lock (lock_id set) or sale (ticket_id set)
CREATE TABLE IF NOT EXISTS seat_claims (
    show_id TEXT NOT NULL REFERENCES shows(id),
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    lock_id TEXT,
    ticket_id TEXT,
    PRIMARY KEY (show_id, label)
);
CREATE INDEX IF NOT EXISTS ix_seat_claims_lock ON seat_claims (lock_id);
CREATE INDEX IF NOT EXISTS ix_seat_claims_ticket ON seat_claims (ticket_id);
-- status NULL while the first request with this key is still running
CREATE TABLE IF NOT EXISTS idempotency_keys (
    client TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    body TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (client, key)
);
CREATE INDEX IF NOT EXISTS ix_idempotency_keys_created ON idempotency_keys (created_at);
"""


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) with WAL and a busy timeout."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


# Columns added since the first schema, for a database file an older sandbox created: (table, column, type).
ADDED_COLUMNS = (
    ("shows", "on_sale_at", "REAL"),
    ("shows", "queue", "INTEGER NOT NULL DEFAULT 0"),
)


def create_schema(connection: sqlite3.Connection) -> None:
    """Create the tables if they are not there yet, and add the columns an older file lacks."""
    connection.executescript(SCHEMA)
    for table, column, kind in ADDED_COLUMNS:
        present = {row["name"] for row in connection.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
