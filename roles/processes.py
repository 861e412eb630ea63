"""The long-running roles: run (everything), web, bot, worker."""

from __future__ import annotations

from booking_core.settings import Settings


def run_role(role: str, settings: Settings) -> int:
    """Run one long-running role until SIGINT/SIGTERM."""
    raise SystemExit(f"the '{role}' role is not wired yet")
