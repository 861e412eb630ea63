"""Listening on the ports the settings name: a port already taken is one line naming its setting."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from booking_core.settings import ConfigurationError


@contextmanager
def port_of(setting: str, host: str, port: int) -> Iterator[None]:
    """Around a bind to host:port: "address in use" becomes a ConfigurationError naming `setting`."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise ConfigurationError(f"{setting}: {host}:{port} is already in use; choose another port") from None
