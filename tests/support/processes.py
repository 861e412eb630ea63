"""Stopping the processes a test or benchmark started."""

from __future__ import annotations

import subprocess


def stop_process(
    process: subprocess.Popen[bytes] | subprocess.Popen[str], signum: int, within: float
) -> None:
    """Send `signum` to a running `process` and wait for it to end; kill it past `within` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=within)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
