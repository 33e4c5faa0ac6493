"""Scheduler invariants, checked with hypothesis: FIFO, timer order, cancellation, purging.

Timer tests use a fake clock, so no real time passes: batonio gets it through its injected
``clock=`` argument; stdlib asyncio (the oracle) through its ``time`` method, which its loop
reads for every timer decision.  uvloop's clock cannot be replaced, so it is left out there.
"""
from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import LOOP_KINDS, make_loop_factory

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FAKE_CLOCK_KINDS = ["asyncio", "batonio"]


class FakeClock:
    """A clock that only moves when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def fake_clock_loop(kind: str, clock: FakeClock) -> asyncio.AbstractEventLoop:
    """A loop of the given kind whose time is ``clock``."""
    if kind == "batonio":
        import batonio

        return batonio.EventLoop(clock=clock)
    loop = asyncio.SelectorEventLoop()
    loop.time = clock  # type: ignore[method-assign]
    return loop


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    loop.close()
    asyncio.set_event_loop(None)


def run_one_iteration(loop: asyncio.AbstractEventLoop) -> None:
    """Run exactly one loop iteration without blocking (stop() is already ready)."""
    loop.call_soon(loop.stop)
    loop.run_forever()


@pytest.fixture(params=FAKE_CLOCK_KINDS)
def clocked(request: pytest.FixtureRequest) -> Iterator[tuple[asyncio.AbstractEventLoop, FakeClock]]:
    clock = FakeClock()
    loop = fake_clock_loop(request.param, clock)
    try:
        yield loop, clock
    finally:
        close_loop(loop)


def _pending_timers(loop: Any) -> list[Any]:
    return [t for t in loop._scheduled if not t.cancelled()]


# --------------------------------------------------------------------- call_soon FIFO
@pytest.mark.parametrize("kind", LOOP_KINDS)
@SETTINGS
@given(
    plan=st.lists(
        st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=40
    )
)
def test_call_soon_is_fifo(kind: str, plan: list[tuple[int, bool]]) -> None:
    """Callbacks run in call_soon order; those scheduled while running go to the next turn."""
    loop = make_loop_factory(kind)()
    try:
        order: list[tuple[int, int]] = []
        expected_first: list[tuple[int, int]] = []
        expected_second: list[tuple[int, int]] = []

        def child(i: int, j: int) -> None:
            order.append((i, j))

        def parent(i: int, nchildren: int) -> None:
            order.append((i, -1))
            for j in range(nchildren):
                loop.call_soon(child, i, j)

        handles = []
        for i, (nchildren, cancel) in enumerate(plan):
            handles.append(loop.call_soon(parent, i, nchildren))
            if not cancel:
                expected_first.append((i, -1))
                expected_second.extend((i, j) for j in range(nchildren))
        for (_, cancel), handle in zip(plan, handles, strict=True):
            if cancel:
                handle.cancel()
        # stop() scheduled last: the first turn runs every parent, the children wait.
        loop.call_soon(loop.stop)
        loop.run_forever()
        if kind != "uvloop":  # uvloop also runs what the turn scheduled before it stops
            assert order == expected_first
        run_one_iteration(loop)
        assert order == expected_first + expected_second
    finally:
        close_loop(loop)


# --------------------------------------------------------------------- timer order
_WHENS = st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.5, 3.0, 7.25])


@pytest.mark.parametrize("kind", FAKE_CLOCK_KINDS)
@SETTINGS
@given(
    timers=st.lists(st.tuples(_WHENS, st.booleans(), st.booleans()), min_size=1, max_size=40),
    steps=st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0]), min_size=1, max_size=12),
)
def test_timers_fire_in_when_then_scheduling_order(
    kind: str, timers: list[tuple[float, bool, bool]], steps: list[float]
) -> None:
    clock = FakeClock()
    loop = fake_clock_loop(kind, clock)
    try:
        start = clock.now
        fired: list[int] = []
        handles = []
        for i, (offset, relative, _) in enumerate(timers):
            if relative:
                handles.append(loop.call_later(offset, fired.append, i))
            else:
                handles.append(loop.call_at(start + offset, fired.append, i))
        for (_, _, cancel), handle in zip(timers, handles, strict=True):
            if cancel:
                handle.cancel()
        live = [(off, i) for i, (off, _, cancel) in enumerate(timers) if not cancel]
        expected: list[int] = []
        elapsed = 0.0
        for step in [*steps, 100.0]:
            elapsed += step
            clock.now = start + elapsed
            run_one_iteration(loop)
            expected = [i for off, i in sorted(live) if off <= elapsed]
            if kind == "batonio":
                # Due timers fired, in (when, scheduling order); the others wait.
                assert fired == expected
            else:
                # asyncio's heap orders by when only: ties come out in any order.
                assert sorted(fired) == sorted(expected)
                assert [timers[i][0] for i in fired] == [timers[i][0] for i in expected]
        assert sorted(fired) == sorted(i for _, i in live)
        assert not _pending_timers(loop)
    finally:
        close_loop(loop)


@pytest.mark.parametrize("kind", FAKE_CLOCK_KINDS)
def test_no_real_time_passes_with_a_fake_clock(kind: str) -> None:
    """An hour of sleeping on the fake clock is instant when the clock is advanced."""
    import time

    clock = FakeClock()
    loop = fake_clock_loop(kind, clock)
    try:
        order: list[str] = []

        async def sleeper(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            order.append(name)

        tasks = [loop.create_task(sleeper(n, d)) for n, d in (("b", 3600), ("a", 1800), ("c", 7200))]
        t0 = time.monotonic()
        run_one_iteration(loop)
        for _ in range(3):
            clock.now += 1800
            run_one_iteration(loop)
            run_one_iteration(loop)
        assert order == ["a", "b"]
        clock.now += 3600
        loop.run_until_complete(tasks[2])
        assert order == ["a", "b", "c"]
        assert time.monotonic() - t0 < 1.0
    finally:
        close_loop(loop)


def test_batonio_time_reads_the_injected_clock() -> None:
    import batonio

    clock = FakeClock(42.0)
    loop = batonio.EventLoop(clock=clock)
    try:
        assert loop.time() == 42.0
        clock.now = 43.5
        assert loop.time() == 43.5
        h = loop.call_later(2, lambda: None)
        assert h.when() == 45.5
        h.cancel()
    finally:
        loop.close()


# --------------------------------------------------------------------- cancellation
def _program_strategy() -> st.SearchStrategy[list[tuple[bool, list[tuple[str, int]]]]]:
    op = st.one_of(
        st.tuples(st.just("sleep"), st.integers(0, 3)),
        st.tuples(st.just("future"), st.integers(0, 2)),
        st.tuples(st.just("task"), st.integers(0, 4)),
        st.tuples(st.just("yield"), st.just(0)),
        st.tuples(st.just("shield"), st.integers(0, 2)),
    )
    task = st.tuples(st.booleans(), st.lists(op, max_size=6))
    return st.lists(task, min_size=1, max_size=5)


@pytest.mark.parametrize("kind", FAKE_CLOCK_KINDS)
@SETTINGS
@given(
    program=_program_strategy(),
    cancel_after=st.integers(0, 8),
    victims=st.lists(st.integers(0, 4), max_size=3),
)
def test_cancelling_a_task_program_leaves_nothing_behind(
    kind: str,
    program: list[tuple[bool, list[tuple[str, int]]]],
    cancel_after: int,
    victims: list[int],
) -> None:
    """Tasks awaiting sleeps, futures and each other, cancelled at a random await point."""
    clock = FakeClock()
    loop = fake_clock_loop(kind, clock)
    errors: list[dict[str, Any]] = []
    tasks: list[asyncio.Task[Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    try:
        futures = [loop.create_future() for _ in range(3)]

        async def body(index: int, swallow: bool, ops: list[tuple[str, int]]) -> int:
            done = 0
            for kind_, arg in ops:
                try:
                    if kind_ == "sleep":
                        await asyncio.sleep(arg * 0.5)
                    elif kind_ == "future":
                        await futures[arg]
                    elif kind_ == "task":
                        if arg < index:  # only earlier tasks: no cycles
                            await tasks[arg]
                    elif kind_ == "shield":
                        await asyncio.shield(futures[arg])
                    else:
                        await asyncio.sleep(0)
                    done += 1
                except asyncio.CancelledError:
                    if not swallow:
                        raise
            return done

        for index, (swallow, ops) in enumerate(program):
            tasks.append(loop.create_task(body(index, swallow, ops)))

        for tick in range(cancel_after):
            clock.now += 0.5
            if tick % 3 == 2 and not futures[tick % 3].done():
                futures[tick % 3].set_result(tick)
            run_one_iteration(loop)
        for v in victims:
            if v < len(tasks):
                tasks[v].cancel()
        run_one_iteration(loop)
        for _ in range(200):
            if all(t.done() for t in tasks):
                break
            # A task that swallows CancelledError moves on to its next await: cancel again.
            for t in tasks:
                t.cancel()
            clock.now += 0.5
            run_one_iteration(loop)
        # Drain whatever the last steps scheduled (done-callbacks, shield's relays).
        for _ in range(3):
            run_one_iteration(loop)
        assert all(t.done() for t in tasks)
        assert not asyncio.all_tasks(loop)
        assert len(loop._ready) == 0  # type: ignore[attr-defined]
        assert not _pending_timers(loop)
        for fut in futures:
            if not fut.done():
                fut.cancel()
        for t in tasks:
            if not t.cancelled():
                t.result()
        assert errors == []
    finally:
        close_loop(loop)
        tasks.clear()
        gc.collect()


def test_batonio_task_records_parent_and_waiter() -> None:
    import batonio

    loop = batonio.new_event_loop()
    try:
        fut = loop.create_future()
        seen: dict[str, Any] = {}

        async def child() -> None:
            await fut

        async def parent() -> None:
            t = loop.create_task(child())
            seen["child"] = t
            await asyncio.sleep(0)
            seen["waiter"] = t._fut_waiter
            fut.set_result(None)
            await t
            seen["waiter_after"] = t._fut_waiter

        top = loop.create_task(parent())
        loop.run_until_complete(top)
        assert seen["child"]._parent is top
        assert top._parent is None
        assert seen["waiter"] is fut
        assert seen["waiter_after"] is None
    finally:
        loop.close()


# --------------------------------------------------------------------- purging
@pytest.mark.parametrize("kind", FAKE_CLOCK_KINDS)
def test_cancelled_timers_are_purged(kind: str) -> None:
    """200k timers scheduled and cancelled: the heap stays bounded while the loop runs."""
    clock = FakeClock()
    loop = fake_clock_loop(kind, clock)
    try:
        sizes: list[int] = []
        keep = [loop.call_later(10_000 + i, lambda: None) for i in range(10)]

        async def churn() -> None:
            cb: Callable[[], None] = lambda: None  # noqa: E731
            for i in range(200_000):
                loop.call_later(1000 + (i % 97), cb).cancel()
                if i % 500 == 499:
                    await asyncio.sleep(0)
                    sizes.append(len(loop._scheduled))  # type: ignore[attr-defined]

        loop.run_until_complete(churn())
        assert max(sizes) <= 2 * (500 + len(keep)) + 100
        assert all(not h.cancelled() for h in keep)
        assert len(_pending_timers(loop)) == len(keep)
        for h in keep:
            h.cancel()
    finally:
        close_loop(loop)
