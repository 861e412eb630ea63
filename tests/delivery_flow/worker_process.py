"""A delivery worker in a process of its own, for the tests that kill it.

Run as `python -m tests.delivery_flow.worker_process`.

It reads the usual settings from the environment plus FLOW_* (see `Stand.worker_environment`), declares
the delivery actors on the stand's broker and queue, prints "ready" and works until it is killed.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import AsyncExitStack

from booking_core.settings import load_settings
from tests.delivery_flow.stand import delivery_specs, flow_broker, worker_side
from workers.context import WorkerContext
from workers.registry import lazy_context, register_actors
from workers.running import running_worker


def main() -> None:
    """Work until killed."""
    logging.basicConfig(level=logging.INFO, format="worker process: %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    redis_url, twilio_api = os.environ["FLOW_REDIS_URL"], os.environ["FLOW_TWILIO_API"]
    broker = flow_broker(os.environ["FLOW_BROKER_URL"], os.environ["FLOW_NAMESPACE"])

    # Never closed (the process ends by SIGKILL), but kept referenced: collecting it would close the clients.
    resources = AsyncExitStack()

    async def open_context() -> WorkerContext:
        _core, context = await resources.enter_async_context(
            worker_side(settings, redis_url, twilio_api, broker)
        )
        return context

    register_actors(broker, delivery_specs(os.environ["FLOW_QUEUE"]), lazy_context(open_context))
    with running_worker(broker, threads=2, queues=[os.environ["FLOW_QUEUE"]]):
        print("ready", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
