"""Fixtures shared by the I/O tests."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture(scope="module", autouse=True)
def _uvloop_global_fds() -> None:
    """uvloop keeps a pipe of its own open from its first loop on: open it before fds are counted."""
    try:
        import uvloop
    except ImportError:
        return
    lp = uvloop.new_event_loop()
    lp.run_until_complete(asyncio.sleep(0))
    lp.close()
