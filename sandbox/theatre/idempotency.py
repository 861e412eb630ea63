"""The idempotency store: the first answer to each (client, Idempotency-Key), replayed to repeats."""

from __future__ import annotations

from sandbox.theatre.database import ThreadedDatabase
from sandbox.theatre.errors import Refusal

IN_PROGRESS_GRACE_SECONDS = 60.0  # an unfinished request older than this was lost with its process
KEEP_KEYS_SECONDS = 24 * 3600.0


class IdempotencyKeys:
    """Keys and answers in the theatre's database, so they survive a restart of the theatre."""

    def __init__(self, database: ThreadedDatabase) -> None:
        self._database = database

    def claim(self, client: str, key: str, fingerprint: str) -> tuple[int, str] | None:
        """None when this request is the key's first (now marked running); else the first answer."""
        now = self._database.now()
        with self._database.transaction() as connection:
            connection.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?", (now - KEEP_KEYS_SECONDS,)
            )
            row = connection.execute(
                "SELECT * FROM idempotency_keys WHERE client = ? AND key = ?", (client, key)
            ).fetchone()
            lost = (
                row is not None
                and row["status"] is None
                and now - row["created_at"] > IN_PROGRESS_GRACE_SECONDS
            )
            if row is None or lost:
                connection.execute(
                    "INSERT OR REPLACE INTO idempotency_keys (client, key, fingerprint, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (client, key, fingerprint, now),
                )
                return None
            if row["fingerprint"] != fingerprint:
                raise Refusal(
                    422, "idempotency_key_reused", "this Idempotency-Key was used for another request"
                )
            if row["status"] is None:
                raise Refusal(409, "request_in_progress", "the first request with this key is still running")
            return row["status"], row["body"]

    def finish(self, client: str, key: str, status: int, body: str) -> None:
        """Remember the answer to replay for this key."""
        with self._database.transaction() as connection:
            connection.execute(
                "UPDATE idempotency_keys SET status = ?, body = ? WHERE client = ? AND key = ?",
                (status, body, client, key),
            )

    def drop(self, client: str, key: str) -> None:
        """Forget a key whose request failed without an answer worth replaying."""
        with self._database.transaction() as connection:
            connection.execute("DELETE FROM idempotency_keys WHERE client = ? AND key = ?", (client, key))
