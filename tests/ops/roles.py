"""The real process roles as the ops tests run them: `python main.py <role>` with settings in the environment.

Each process runs in a folder of its own (so no developer's `.env` or `data/` leaks in), writes its log
there, is waited for until it serves, and is stopped with SIGTERM: it must exit, cleanly, within
STOP_WITHIN_SECONDS (graceful shutdown is part of what is tested).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psutil

from roles.settings import MarqueeSettings

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "main.py"
STOP_WITHIN_SECONDS = 10.0
START_WITHIN_SECONDS = 45.0
WORKER_READY_LINE = "worker running: actors"


def role_environment(**settings: str | int) -> dict[str, str]:
    """This process's environment without any Marquee setting, plus `settings` (as strings)."""
    env = {name: value for name, value in os.environ.items() if name not in MarqueeSettings.model_fields}
    env.update({name: str(value) for name, value in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class RoleProcess:
    """One running role: its process and its log."""

    name: str
    role: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The process id."""
        return self.process.pid

    def log(self) -> str:
        """What it has printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        """Whether it still runs."""
        return self.process.poll() is None

    def _check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(
                f"{self.name} exited with {self.process.returncode} while starting:\n{self.log()[-4000:]}"
            )

    async def wait_serving(self, url: str, http: aiohttp.ClientSession) -> None:
        """Until GET `url` answers 200 (fails at once if the process died)."""
        deadline = time.monotonic() + START_WITHIN_SECONDS
        while True:
            self._check_alive()
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not serving {url} after {START_WITHIN_SECONDS} s")
            await asyncio.sleep(0.1)

    async def wait_for_log(self, line: str) -> None:
        """Until the process has logged `line`."""
        deadline = time.monotonic() + START_WITHIN_SECONDS
        while line not in self.log():
            self._check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never logged {line!r}:\n{self.log()[-4000:]}")
            await asyncio.sleep(0.1)

    def terminate(self) -> None:
        """Send SIGTERM (a graceful stop) without waiting."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)

    def pause(self) -> None:
        """SIGSTOP: the process holds what it has (connections, locks waited for) but takes no more work."""
        psutil.Process(self.pid).suspend()

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        psutil.Process(self.pid).resume()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing finishes."""
        self.process.kill()
        self.process.wait()

    def wait_stopped(self, within: float = STOP_WITHIN_SECONDS) -> float:
        """Wait for the exit after SIGTERM; its duration. Fails (and kills) past `within` or on a bad exit."""
        started = time.monotonic()
        try:
            code = self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            stacks = python_stacks(self.pid)
            self.kill()
            raise AssertionError(
                f"{self.name} still running {within} s after SIGTERM:\n{self.log()[-4000:]}\n{stacks}"
            ) from None
        assert code == 0, f"{self.name} exited with {code} after SIGTERM:\n{self.log()[-4000:]}"
        return time.monotonic() - started


def python_stacks(pid: int) -> str:
    """Every thread's Python stack in a live process (py-spy), to say where a stuck process is stuck."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    try:
        dump = subprocess.run([spy, "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"(no stacks: {error})"
    return dump.stdout + dump.stderr


def owner_of(port: int, processes: Iterable[RoleProcess]) -> RoleProcess | None:
    """The role process whose TCP connection uses local port `port`."""
    for process in processes:
        connections = psutil.Process(process.pid).net_connections(kind="tcp")
        if any(connection.laddr and connection.laddr.port == port for connection in connections):
            return process
    return None


def start_role(role: str, name: str, env: Mapping[str, str], folder: Path) -> RoleProcess:
    """Start `python main.py <role>` in `folder` (created), its output in folder/<name>.log."""
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(MAIN), role],
            cwd=folder,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C on pytest must not reach the roles before the fixture does
        )
    return RoleProcess(name, role, process, log_path)


async def stop_all(processes: Iterable[RoleProcess]) -> dict[str, float]:
    """SIGTERM to all at once, then wait for each; how long each took. Every one must stop cleanly."""
    running = list(processes)
    for process in running:
        process.terminate()
    durations: dict[str, float] = {}
    failures: list[str] = []
    for process in running:
        try:
            durations[process.name] = await asyncio.to_thread(process.wait_stopped)
        except AssertionError as failure:
            failures.append(str(failure))
    assert not failures, "\n\n".join(failures)
    return durations


def kill_all(processes: Iterable[RoleProcess]) -> None:
    """Teardown after a failure: make sure nothing outlives the test."""
    for process in processes:
        if process.alive():
            process.kill()


async def wait_workers_ready(workers: Iterable[RoleProcess]) -> None:
    """Until every worker process consumes its queues."""
    await asyncio.gather(*(worker.wait_for_log(WORKER_READY_LINE) for worker in workers))
