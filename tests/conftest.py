"""Shared fixtures: every behaviour test can run on stdlib asyncio, uvloop and batonio."""
from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest

LOOP_KINDS = ["asyncio", "uvloop", "batonio"]


def make_loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """Return a function that creates a new event loop of the given kind."""
    if kind == "asyncio":
        return asyncio.SelectorEventLoop
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed")
        return uvloop.new_event_loop  # type: ignore[no-any-return]
    if kind == "batonio":
        import batonio

        return batonio.new_event_loop
    raise ValueError(kind)


@pytest.fixture(params=LOOP_KINDS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    """The name of the loop implementation under test."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def loop_factory(loop_kind: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """A factory for new loops of the kind under test."""
    return make_loop_factory(loop_kind)


@pytest.fixture
def loop(loop_factory: Callable[[], asyncio.AbstractEventLoop]) -> Iterator[asyncio.AbstractEventLoop]:
    """A fresh loop of the kind under test, closed (with its async generators) after the test."""
    lp = loop_factory()
    try:
        yield lp
    finally:
        if not lp.is_closed():
            if not lp.is_running():
                lp.run_until_complete(lp.shutdown_asyncgens())
            lp.close()
        asyncio.set_event_loop(None)
        gc.collect()


@pytest.fixture
def run(loop: asyncio.AbstractEventLoop) -> Callable[..., object]:
    """Run a coroutine to completion on the loop under test."""
    return loop.run_until_complete
