"""The garbage collector's settings in the long-running roles (bot, web, worker, run).

A press, a webhook or a job makes thousands of objects (python-telegram-bot's update and message
objects, aiohttp's requests, SQLAlchemy's rows). Reference counting frees nearly all of them, yet with
CPython's default thresholds the collector also scans the young ones every 700 allocations: in
`benchmarks/bot.py` that was about 140 collections a second and 7-12% of the CPU a press cost. So a
role freezes what start-up made (modules, settings; it is never garbage) out of every collection, and
collects the young generation every 50,000 allocations instead; the objects a cycle keeps alive until
then are a few megabytes at most.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 50_000
# Collections of a generation between two of the next (CPython's default is 10).
OLDER_GENERATION_THRESHOLD = 20


def tune_garbage_collector() -> None:
    """Freeze the objects made so far and collect less often (see the module docstring)."""
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, OLDER_GENERATION_THRESHOLD, OLDER_GENERATION_THRESHOLD)
