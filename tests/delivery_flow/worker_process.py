"""A delivery worker in a process of its own, for the tests that kill it.

Run as `python -m tests.delivery_flow.worker_process`.

It reads the usual settings from the environment plus FLOW_* (see `Stand.worker_environment`), declares
the delivery actors on the stand's broker and queue, prints "ready" and works until it is killed.
"""

from __future__ import annotations

import logging
import os
import threading

from roles.settings import load_settings
from tests.delivery_flow.stand import delivery_actors, flow_broker
from workers.running import running_worker


def main() -> None:
    """Work until killed."""
    logging.basicConfig(level=logging.INFO, format="worker process: %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    broker = flow_broker(os.environ["FLOW_BROKER_URL"], os.environ["FLOW_NAMESPACE"])
    # Never closed (the process ends by SIGKILL).
    delivery_actors(settings, broker, os.environ["FLOW_QUEUE"])
    with running_worker(broker, threads=2, queues=[os.environ["FLOW_QUEUE"]]):
        print("ready", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
