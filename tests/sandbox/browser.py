"""A real browser for the web chat tests: Debian's chromium driven by playwright (never a downloaded one)."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium_path() -> str:
    """Debian's chromium binary; skip without it (fail in CI, which must install it)."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is not installed: CI must test the web chat in a browser")
    pytest.skip("chromium not installed (apt-get install chromium): web chat browser test skipped")
