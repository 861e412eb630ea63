"""The sandbox theatre's ticketing rules on its own SQLite database: locks, sales and versions.

Every operation is one `BEGIN IMMEDIATE` transaction on a connection of the calling thread, and the
aiohttp handlers run them in a small thread pool, so requests really do race each other, as in a
theatre with several tills and several booking applications. A show's `version` goes up in the same
transaction as any change to its sold or locked seats, including locks found expired.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sandbox.theatre.database import ThreadedDatabase
from sandbox.theatre.errors import Refusal
from sandbox.theatre.idempotency import IdempotencyKeys
from sandbox.theatre.seed import seed_chain

BOX_OFFICE = "boxoffice"  # the client name of sales made at the theatre's own till


def iso(timestamp: float) -> str:
    """RFC 3339 UTC with a Z, whole seconds (rounded down, so an expiry is never announced late)."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _unavailable(message: str, taken: dict[str, str]) -> Refusal:
    """409 seats_unavailable: `seats` names every taken seat, `sold` and `locked` say which is which."""
    return Refusal(
        409,
        "seats_unavailable",
        message,
        seats=list(taken),
        sold=[label for label, kind in taken.items() if kind == "sale"],
        locked=[label for label, kind in taken.items() if kind == "lock"],
    )


class TheatreStore(ThreadedDatabase):
    """The theatre's database and the rules that keep each seat of a show with at most one owner.

    `guarded=False` checks seats and claims them in two transactions, like a system without seat
    locking; it exists only so a control test can show that the race it guards against is real.
    """

    def __init__(
        self,
        path: str,
        clock: Callable[[], datetime] | None = None,
        guarded: bool = True,
        workers: int = 8,
    ) -> None:
        super().__init__(path, clock, workers)
        self.guarded = guarded
        # The theatre's own limit on a lock, below the API's 1800 s (None: none); expires_at tells the client.
        self.max_lock_seconds: int | None = None
        self.keys = IdempotencyKeys(self)
        self.seed()

    def seed(self) -> None:
        """Add the sample chain and a week of shows from today (idempotent)."""
        seed_chain(self._connection(), self.clock())

    # -- reading ---------------------------------------------------------------------------------

    def schedule(self, frm: float, to: float) -> dict[str, Any]:
        """Cinemas, halls with layouts, and the shows starting in [frm, to) with their movies."""
        connection = self._connection()
        shows = connection.execute(
            "SELECT * FROM shows WHERE starts_at >= ? AND starts_at < ? ORDER BY starts_at, id", (frm, to)
        ).fetchall()
        prices: dict[str, dict[str, int]] = {}
        for row in connection.execute(
            "SELECT p.show_id, p.category, p.amount FROM show_prices p JOIN shows s ON s.id = p.show_id"
            " WHERE s.starts_at >= ? AND s.starts_at < ?",
            (frm, to),
        ):
            prices.setdefault(row["show_id"], {})[row["category"]] = row["amount"]
        movie_ids = sorted({show["movie_id"] for show in shows})
        movies = connection.execute(
            f"SELECT * FROM movies WHERE id IN ({','.join('?' * len(movie_ids))}) ORDER BY id", movie_ids
        ).fetchall()
        return {
            "from": iso(frm),
            "to": iso(to),
            "cinemas": [dict(row) for row in connection.execute("SELECT * FROM cinemas ORDER BY id")],
            "halls": [
                self._hall(connection, row) for row in connection.execute("SELECT * FROM halls ORDER BY id")
            ],
            "movies": [dict(row) for row in movies],
            "shows": [self._show_entry(show, prices.get(show["id"], {})) for show in shows],
        }

    @staticmethod
    def _show_entry(show: sqlite3.Row, prices: dict[str, int]) -> dict[str, Any]:
        """A show as the schedule lists it; a premiere adds its on-sale time and, if so, its queue."""
        entry: dict[str, Any] = {
            "id": show["id"],
            "cinema": show["cinema_id"],
            "hall": show["hall_id"],
            "movie": show["movie_id"],
            "starts_at": iso(show["starts_at"]),
            "prices": prices,
            "currency": show["currency"],
        }
        if show["on_sale_at"] is not None:
            entry["on_sale_at"] = iso(show["on_sale_at"])
            if show["queue"]:
                entry["queue"] = True
        return entry

    def set_on_sale(self, show_id: str, on_sale_at: datetime | None, queue: bool) -> None:
        """Make the show a premiere on sale from `on_sale_at` (through a queue if `queue`), or (None) a
        show on sale at once, as the theatre's planners decide; the next schedule says so."""
        if on_sale_at is None and queue:
            raise ValueError("a queue needs an on-sale time")
        at = on_sale_at.timestamp() if on_sale_at is not None else None
        with self.transaction() as connection:
            self._show(connection, show_id)
            connection.execute(
                "UPDATE shows SET on_sale_at = ?, queue = ? WHERE id = ?", (at, int(queue), show_id)
            )

    @staticmethod
    def _hall(connection: sqlite3.Connection, hall: sqlite3.Row) -> dict[str, Any]:
        rows: dict[int, dict[str, Any]] = {}
        for seat in connection.execute(
            "SELECT * FROM seats WHERE hall_id = ? ORDER BY row_index, number", (hall["id"],)
        ):
            row = rows.setdefault(seat["row_index"], {"label": seat["row_label"], "index": seat["row_index"]})
            row.setdefault("seats", []).append(
                {"number": seat["number"], "column": seat["col"], "category": seat["category"]}
            )
        return {
            "id": hall["id"],
            "cinema": hall["cinema_id"],
            "name": hall["name"],
            "rows": list(rows.values()),
        }

    def seat_status(self, show_id: str) -> dict[str, Any]:
        """The sold and locked seats of a show and its version (expired locks are swept first)."""
        with self.transaction() as connection:
            self._show(connection, show_id)
            self._expire_locks(connection, show_id)
            return self._status(connection, show_id)

    def _status(self, connection: sqlite3.Connection, show_id: str) -> dict[str, Any]:
        claims = connection.execute(
            "SELECT c.label, c.kind FROM seat_claims c JOIN shows s ON s.id = c.show_id"
            " JOIN seats t ON t.hall_id = s.hall_id AND t.label = c.label"
            " WHERE c.show_id = ? ORDER BY t.row_index, t.number",
            (show_id,),
        ).fetchall()
        version = connection.execute("SELECT version FROM shows WHERE id = ?", (show_id,)).fetchone()[0]
        return {
            "show": show_id,
            "version": version,
            "sold": [claim["label"] for claim in claims if claim["kind"] == "sale"],
            "locked": [claim["label"] for claim in claims if claim["kind"] == "lock"],
        }

    # -- changing seats --------------------------------------------------------------------------

    def lock(
        self, client: str, show_id: str, labels: Sequence[str], ttl_seconds: int, reference: str
    ) -> dict[str, Any]:
        """Lock all of `labels` for ttl_seconds, or refuse naming the seats already taken."""
        with self.transaction() as connection:
            show = self._open_show(connection, show_id)
            amount = self._price(connection, show, labels)
            self._expire_locks(connection, show_id)
            lock_id = "L-" + secrets.token_hex(8)
            self._claim(connection, show_id, labels, kind="lock", owner=lock_id)
            now = self.now()
            expires_at = now + min(ttl_seconds, self.max_lock_seconds or ttl_seconds)
            connection.execute(
                "INSERT INTO locks (id, client, show_id, reference, status, amount, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, 'active', ?, ?, ?)",
                (lock_id, client, show_id, reference, amount, now, expires_at),
            )
            connection.executemany("INSERT INTO lock_seats VALUES (?, ?)", [(lock_id, one) for one in labels])
            self._touch(connection, show_id)
            return {
                "lock_id": lock_id,
                "show": show_id,
                "seats": list(labels),
                "expires_at": iso(expires_at),
                "amount": amount,
                "currency": show["currency"],
                "reference": reference,
            }

    def release(self, client: str, lock_id: str) -> None:
        """Free a lock's seats; an expired or already released lock is left as it is."""
        with self.transaction() as connection:
            lock = self._lock(connection, client, lock_id)
            if lock["status"] == "committed":
                raise Refusal(409, "lock_committed", "the lock became a sale: cancel the ticket instead")
            self._expire_locks(connection, lock["show_id"])
            if lock["status"] == "active":
                connection.execute("DELETE FROM seat_claims WHERE lock_id = ? AND kind = 'lock'", (lock_id,))
                connection.execute("UPDATE locks SET status = 'released' WHERE id = ?", (lock_id,))
                self._touch(connection, lock["show_id"])

    def commit(self, client: str, lock_id: str, reference: str, amount: int, currency: str) -> dict[str, Any]:
        """Turn an active lock into a ticket; committing a committed lock gives its ticket again."""
        with self.transaction() as connection:
            lock = self._lock(connection, client, lock_id)
            show = self._show(connection, lock["show_id"])
            labels = [row["label"] for row in connection.execute(
                "SELECT label FROM lock_seats WHERE lock_id = ? ORDER BY label", (lock_id,)
            )]  # fmt: skip
            if lock["status"] == "committed":
                return self._sale(connection, lock["ticket_id"])  # whatever the key, amount or reference
            if show["starts_at"] <= self.now():
                raise Refusal(422, "show_closed", "the show has started; it is no longer on sale")
            if amount != lock["amount"] or currency != show["currency"]:
                raise Refusal(
                    422,
                    "amount_mismatch",
                    f"the lock costs {lock['amount']} {show['currency']}, not {amount} {currency}",
                )
            self._expire_locks(connection, lock["show_id"])
            if self._lock(connection, client, lock_id)["status"] != "active":
                taken = self._taken(connection, lock["show_id"], labels)
                if taken:
                    raise _unavailable("the lock expired and seats went", taken)
                raise Refusal(410, "lock_expired", "the lock expired or was released; its seats are free now")
            ticket_id = self._issue_ticket(connection, client, show, labels, reference, amount)
            connection.execute(
                "UPDATE seat_claims SET kind = 'sale', lock_id = NULL, ticket_id = ? WHERE lock_id = ?",
                (ticket_id, lock_id),
            )
            connection.execute(
                "UPDATE locks SET status = 'committed', ticket_id = ? WHERE id = ?", (ticket_id, lock_id)
            )
            self._touch(connection, lock["show_id"])
            return self._sale(connection, ticket_id)

    def cancel(self, client: str, ticket_id: str) -> dict[str, Any]:
        """Cancel a ticket before its show starts and free its seats (again: same answer)."""
        with self.transaction() as connection:
            ticket = connection.execute(
                "SELECT * FROM tickets WHERE id = ? AND client = ?", (ticket_id, client)
            ).fetchone()
            if ticket is None:
                raise Refusal(404, "ticket_not_found", f"no ticket {ticket_id}")
            if ticket["status"] != "cancelled":
                if self._show(connection, ticket["show_id"])["starts_at"] <= self.now():
                    raise Refusal(422, "show_started", "the show has started; the ticket cannot be cancelled")
                connection.execute("DELETE FROM seat_claims WHERE ticket_id = ?", (ticket_id,))
                connection.execute("UPDATE tickets SET status = 'cancelled' WHERE id = ?", (ticket_id,))
                self._touch(connection, ticket["show_id"])
            return {**self._sale(connection, ticket_id), "status": "cancelled"}

    def sell(self, show_id: str, labels: Sequence[str]) -> dict[str, Any]:
        """A box-office sale: take the seats straight to sold, or refuse naming those taken."""
        with self.transaction() as connection:
            show = self._open_show(connection, show_id)
            amount = self._price(connection, show, labels)
            self._expire_locks(connection, show_id)
            ticket_id = "T-" + secrets.token_hex(5).upper()
            self._claim(connection, show_id, labels, kind="sale", owner=ticket_id)
            self._issue_ticket(connection, BOX_OFFICE, show, labels, "box office", amount, ticket_id)
            self._touch(connection, show_id)
            return self._sale(connection, ticket_id)

    # -- rules -----------------------------------------------------------------------------------

    @staticmethod
    def _show(connection: sqlite3.Connection, show_id: str) -> sqlite3.Row:
        show = connection.execute("SELECT * FROM shows WHERE id = ?", (show_id,)).fetchone()
        if show is None:
            raise Refusal(404, "show_not_found", f"no show {show_id}")
        return show

    def _open_show(self, connection: sqlite3.Connection, show_id: str) -> sqlite3.Row:
        show = self._show(connection, show_id)
        if show["starts_at"] <= self.now():
            raise Refusal(422, "show_closed", "the show has started; it is no longer on sale")
        return show

    @staticmethod
    def _lock(connection: sqlite3.Connection, client: str, lock_id: str) -> sqlite3.Row:
        lock = connection.execute(
            "SELECT * FROM locks WHERE id = ? AND client = ?", (lock_id, client)
        ).fetchone()
        if lock is None:
            raise Refusal(404, "lock_not_found", f"no lock {lock_id}")
        return lock

    @staticmethod
    def _price(connection: sqlite3.Connection, show: sqlite3.Row, labels: Sequence[str]) -> int:
        """The price of these seats at this show; unknown seats are refused by name."""
        rows = connection.execute(
            "SELECT s.label, p.amount FROM seats s JOIN show_prices p ON p.category = s.category"
            " AND p.show_id = ? WHERE s.hall_id = ?",
            (show["id"], show["hall_id"]),
        ).fetchall()
        prices = {row["label"]: row["amount"] for row in rows}
        unknown = [label for label in labels if label not in prices]
        if unknown:
            raise Refusal(422, "unknown_seats", "no such seats in this hall", seats=unknown)
        return sum(prices[label] for label in labels)

    def _expire_locks(self, connection: sqlite3.Connection, show_id: str) -> None:
        expired = [row["id"] for row in connection.execute(
            "SELECT id FROM locks WHERE show_id = ? AND status = 'active' AND expires_at <= ?",
            (show_id, self.now()),
        )]  # fmt: skip
        if not expired:
            return
        connection.executemany(
            "DELETE FROM seat_claims WHERE lock_id = ? AND kind = 'lock'", [(i,) for i in expired]
        )
        connection.executemany("UPDATE locks SET status = 'expired' WHERE id = ?", [(i,) for i in expired])
        self._touch(connection, show_id)

    @staticmethod
    def _taken(connection: sqlite3.Connection, show_id: str, labels: Sequence[str]) -> dict[str, str]:
        """Which of `labels` are taken, in their order: label -> "sale" or "lock"."""
        rows = connection.execute(
            "SELECT label, kind FROM seat_claims WHERE show_id = ?"
            f" AND label IN ({','.join('?' * len(labels))})",
            (show_id, *labels),
        ).fetchall()
        taken = {row["label"]: row["kind"] for row in rows}
        return {label: taken[label] for label in labels if label in taken}

    def _claim(
        self, connection: sqlite3.Connection, show_id: str, labels: Sequence[str], kind: str, owner: str
    ) -> None:
        taken = self._taken(connection, show_id, labels)
        if taken:
            raise _unavailable("some seats are sold or locked", taken)
        column = "lock_id" if kind == "lock" else "ticket_id"
        insert = "INSERT" if self.guarded else "INSERT OR REPLACE"
        if not self.guarded:
            # The naive system: the check above and the claim below are separate transactions.
            connection.execute("COMMIT")
            time.sleep(0.002)
            connection.execute("BEGIN IMMEDIATE")
        connection.executemany(
            f"{insert} INTO seat_claims (show_id, label, kind, {column}) VALUES (?, ?, ?, ?)",
            [(show_id, label, kind, owner) for label in labels],
        )

    def _issue_ticket(
        self,
        connection: sqlite3.Connection,
        client: str,
        show: sqlite3.Row,
        labels: Sequence[str],
        reference: str,
        amount: int,
        ticket_id: str | None = None,
    ) -> str:
        ticket_id = ticket_id or "T-" + secrets.token_hex(5).upper()
        connection.execute(
            "INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, 'valid', ?)",
            (ticket_id, client, show["id"], reference, amount, show["currency"], self.now()),
        )
        connection.executemany("INSERT INTO ticket_seats VALUES (?, ?)", [(ticket_id, one) for one in labels])
        return ticket_id

    @staticmethod
    def _sale(connection: sqlite3.Connection, ticket_id: str) -> dict[str, Any]:
        ticket = connection.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
        seats = [row["label"] for row in connection.execute(
            "SELECT label FROM ticket_seats WHERE ticket_id = ? ORDER BY label", (ticket_id,)
        )]  # fmt: skip
        return {
            "ticket_id": ticket_id,
            "show": ticket["show_id"],
            "seats": seats,
            "amount": ticket["amount"],
            "currency": ticket["currency"],
            "reference": ticket["reference"],
            "status": ticket["status"],
        }

    @staticmethod
    def _touch(connection: sqlite3.Connection, show_id: str) -> None:
        connection.execute("UPDATE shows SET version = version + 1 WHERE id = ?", (show_id,))

    # -- the box office page and tests -----------------------------------------------------------

    def upcoming_shows(self, limit: int = 60) -> list[dict[str, Any]]:
        """Shows not yet started, soonest first, with titles, places and free seat counts."""
        rows = (
            self._connection()
            .execute(
                "SELECT s.id, s.starts_at, m.title, c.name AS cinema, c.timezone, h.name AS hall,"
                " (SELECT COUNT(*) FROM seats t WHERE t.hall_id = s.hall_id)"
                " - (SELECT COUNT(*) FROM seat_claims k WHERE k.show_id = s.id) AS free"
                " FROM shows s JOIN movies m ON m.id = s.movie_id JOIN cinemas c ON c.id = s.cinema_id"
                " JOIN halls h ON h.id = s.hall_id WHERE s.starts_at > ? ORDER BY s.starts_at, s.id LIMIT ?",
                (self.now(), limit),
            )
            .fetchall()
        )
        return [dict(row) for row in rows]

    def seat_map(self, show_id: str) -> dict[str, Any]:
        """A show with every seat of its hall and whether it is free, locked or sold."""
        status = self.seat_status(show_id)
        connection = self._connection()
        show = connection.execute(
            "SELECT s.*, m.title, c.name AS cinema, c.timezone, h.name AS hall FROM shows s"
            " JOIN movies m ON m.id = s.movie_id JOIN cinemas c ON c.id = s.cinema_id"
            " JOIN halls h ON h.id = s.hall_id WHERE s.id = ?",
            (show_id,),
        ).fetchone()
        state = {label: "sold" for label in status["sold"]} | {label: "locked" for label in status["locked"]}
        seats = [
            {**dict(seat), "state": state.get(seat["label"], "free")}
            for seat in connection.execute(
                "SELECT * FROM seats WHERE hall_id = ? ORDER BY row_index, number", (show["hall_id"],)
            )
        ]
        return {"show": dict(show), "version": status["version"], "seats": seats}

    def claims(self, show_id: str) -> dict[str, tuple[str, str]]:
        """Who holds each taken seat of a show: label -> ("lock", lock id) or ("sale", ticket id)."""
        rows = self._connection().execute("SELECT * FROM seat_claims WHERE show_id = ?", (show_id,))
        return {row["label"]: (row["kind"], row["lock_id"] or row["ticket_id"]) for row in rows}

    def tickets(self, show_id: str) -> list[dict[str, Any]]:
        """Every ticket of a show with its seats, for checking what was sold."""
        with self.transaction() as connection:
            ids = [
                row["id"]
                for row in connection.execute("SELECT id FROM tickets WHERE show_id = ?", (show_id,))
            ]
            return [self._sale(connection, ticket_id) for ticket_id in ids]
