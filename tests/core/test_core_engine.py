"""The engine's hot path: the timer heap's layout and order, threadsafe hand-offs, wake-ups.

The compiled build keeps its own heap code (typed sifts over ``loop._scheduled``) and its
own ready-queue calls; these tests pin what they must preserve: the heap is exactly the
list ``heapq`` would build (so ``heapq`` and the instrumented iteration can share it),
timers pop in (when, scheduling order) with cancellations and NaN in the mix, calls from
several threads all run and keep each thread's order, and a call made from another thread
always wakes a loop that sleeps in the poller.
"""

from __future__ import annotations

import asyncio
import heapq
import random
import threading
import time
from typing import Any

import pytest
from tests.conftest import LOOP_KINDS, make_loop_factory
from tests.core.test_core_scheduler import FakeClock, close_loop, fake_clock_loop, run_one_iteration

FAKE_CLOCK_KINDS = ["asyncio", "batonio"]


def _is_heap(items: list[Any]) -> bool:
    return all(not items[i] < items[(i - 1) // 2] for i in range(1, len(items)))


@pytest.mark.parametrize("kind", FAKE_CLOCK_KINDS)
def test_scheduled_is_the_list_heapq_builds(kind: str) -> None:
    """Push by push, ``loop._scheduled`` holds the same handles in the same places as heapq."""
    clock = FakeClock()
    loop = fake_clock_loop(kind, clock)
    try:
        rng = random.Random(12)
        reference: list[Any] = []
        for _ in range(500):
            when = clock.now + rng.choice([0.0, 1.0, 1.0, 2.0]) + rng.random() * rng.choice([0, 1])
            timer = loop.call_at(when, lambda: None)
            heapq.heappush(reference, timer)
            assert [id(t) for t in loop._scheduled] == [id(t) for t in reference]  # type: ignore[attr-defined]
        # heapq on the loop's heap (as the instrumented iteration does) keeps it valid.
        extra = loop.call_at(clock.now + 0.5, lambda: None)
        assert extra in loop._scheduled  # type: ignore[attr-defined]
        assert _is_heap(loop._scheduled)  # type: ignore[attr-defined]
        # Pops (timers coming due) leave the same layout heapq.heappop leaves.
        heapq.heappush(reference, extra)
        clock.now += 1.0
        run_one_iteration(loop)
        due = clock.now + loop._clock_resolution  # type: ignore[attr-defined]
        while reference and reference[0].when() < due:
            heapq.heappop(reference)
        assert [id(t) for t in loop._scheduled] == [id(t) for t in reference]  # type: ignore[attr-defined]
        assert _is_heap(loop._scheduled)  # type: ignore[attr-defined]
    finally:
        close_loop(loop)


@pytest.mark.parametrize("kind", FAKE_CLOCK_KINDS)
def test_timers_pop_in_order_through_cancellations_and_purges(kind: str) -> None:
    """Many timers, most cancelled (forcing the bulk purge), fire in (when, scheduling order)."""
    clock = FakeClock()
    loop = fake_clock_loop(kind, clock)
    try:
        rng = random.Random(7)
        fired: list[int] = []
        expected: list[tuple[float, int]] = []
        handles = []
        for i in range(3000):
            when = clock.now + rng.randrange(50) / 10
            handles.append(loop.call_at(when, fired.append, i))
            expected.append((when, i))
        keep = set(rng.sample(range(3000), 900))
        for i, handle in enumerate(handles):
            if i not in keep:
                handle.cancel()
        for _ in range(60):
            clock.now += 0.1
            run_one_iteration(loop)
        whens = dict((i, when) for when, i in expected)
        assert sorted(fired) == sorted(keep)
        assert [whens[i] for i in fired] == sorted(whens[i] for i in keep)
        if kind == "batonio":  # asyncio's heap does not break ties by scheduling order
            assert fired == [i for _, i in sorted(expected) if i in keep]
        assert loop._scheduled == []  # type: ignore[attr-defined]
    finally:
        close_loop(loop)


@pytest.mark.parametrize("kind", FAKE_CLOCK_KINDS)
def test_a_nan_timer_never_sorts_before_a_number(kind: str) -> None:
    """NaN compares false both ways: the heap must treat it as heapq does, not crash."""
    clock = FakeClock()
    loop = fake_clock_loop(kind, clock)
    try:
        reference: list[Any] = []
        for when in [clock.now + 3, float("nan"), clock.now + 1, clock.now + 2, float("nan")]:
            heapq.heappush(reference, loop.call_at(when, lambda: None))
        assert [id(t) for t in loop._scheduled] == [id(t) for t in reference]  # type: ignore[attr-defined]
    finally:
        for timer in list(loop._scheduled):  # type: ignore[attr-defined]
            timer.cancel()
        close_loop(loop)


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_threadsafe_calls_from_several_threads_all_run_in_each_threads_order(kind: str) -> None:
    loop = make_loop_factory(kind)()
    nthreads, ncalls = 4, 3000
    seen: dict[int, list[int]] = {t: [] for t in range(nthreads)}
    total = nthreads * ncalls

    async def main() -> None:
        done = loop.create_future()
        count = 0

        def record(thread: int, i: int) -> None:
            nonlocal count
            seen[thread].append(i)
            count += 1
            if count == total:
                done.set_result(None)

        def produce(thread: int) -> None:
            for i in range(ncalls):
                loop.call_soon_threadsafe(record, thread, i)
                if i % 500 == 0:
                    time.sleep(0.001)  # let the loop go back to sleep in the poller

        threads = [threading.Thread(target=produce, args=(t,)) for t in range(nthreads)]
        for thread in threads:
            thread.start()
        try:
            await asyncio.wait_for(done, 30)
        finally:
            for thread in threads:
                thread.join()

    try:
        loop.run_until_complete(main())
    finally:
        close_loop(loop)
    for thread in range(nthreads):
        assert seen[thread] == list(range(ncalls))


@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_a_threadsafe_call_always_wakes_the_sleeping_loop(kind: str) -> None:
    """Rounds of: the loop sleeps with nothing scheduled, a thread calls in after a short,
    varying pause (before, during and after the loop enters the poller).  A lost wake-up
    would leave the loop asleep until the 10-second guard timer."""
    loop = make_loop_factory(kind)()
    rng = random.Random(3)
    try:
        for round_ in range(150):
            fut = loop.create_future()
            pause = rng.choice([0.0, 0.0, 1e-5, 1e-4, 1e-3])

            def wake(fut: asyncio.Future[int] = fut, pause: float = pause, value: int = round_) -> None:
                if pause:
                    time.sleep(pause)
                loop.call_soon_threadsafe(fut.set_result, value)

            guard = loop.call_later(10, loop.stop)
            thread = threading.Thread(target=wake)
            started = time.monotonic()
            thread.start()
            try:
                assert loop.run_until_complete(fut) == round_
            finally:
                thread.join()
                guard.cancel()
            assert time.monotonic() - started < 5, f"round {round_}: the loop slept through a wake-up"
    finally:
        close_loop(loop)


def test_batonio_purge_rebuilds_the_heap_as_heapify_does() -> None:
    """The bulk purge rebuilds the heap (compiled: our own heapify) exactly as heapq.heapify."""
    import batonio

    clock = FakeClock()
    loop = batonio.EventLoop(clock=clock)
    try:
        rng = random.Random(5)
        timers = [loop.call_at(clock.now + rng.choice([1.0, 2.0, rng.random()]), print) for _ in range(400)]
        for timer in timers[::3]:
            timer.cancel()
        live = [t for t in timers if not t.cancelled()]
        rng.shuffle(live)
        loop._scheduled = live + [t for t in timers if t.cancelled()]  # type: ignore[attr-defined]
        reference = list(live)
        heapq.heapify(reference)
        loop._purge_cancelled_timers()  # type: ignore[attr-defined]
        assert [id(t) for t in loop._scheduled] == [id(t) for t in reference]  # type: ignore[attr-defined]
        assert loop._timer_cancelled_count == 0  # type: ignore[attr-defined]
    finally:
        close_loop(loop)


class _Owner:
    """Holds the handle of its own bound method: a cycle only the cyclic GC can free."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.handle = loop.call_soon_threadsafe(self.method)
        self.ran = False

    def method(self) -> None:
        self.ran = True


@pytest.mark.parametrize("run_first", [True, False])
@pytest.mark.parametrize("kind", LOOP_KINDS)
def test_a_cycle_through_a_threadsafe_handle_is_collected(kind: str, run_first: bool) -> None:
    """Run, or dropped by close(): the handle is back under the cyclic GC, its cycle freed."""
    import gc
    import weakref

    loop = make_loop_factory(kind)()
    try:
        owner = _Owner(loop)
        ref = weakref.ref(owner)
        if run_first:
            run_one_iteration(loop)
            assert owner.ran
            assert gc.is_tracked(owner.handle)
    finally:
        close_loop(loop)
    del owner
    gc.collect()
    assert ref() is None


def test_threadsafe_handles_dropped_from_the_queue_by_hand_are_freed_safely() -> None:
    """Queued threadsafe handles freed without running (``_ready.clear()``): no crash, no leak.

    In a child process: the compiled build untracks a queued handle's context, and CPython
    crashes freeing an untracked Context, so a regression would kill the interpreter.
    """
    import subprocess
    import sys

    code = (
        "import gc, batonio\n"
        "loop = batonio.new_event_loop()\n"
        "contexts = []\n"
        "def queue_then_drop():\n"  # while the loop runs, when the handles are untracked
        "    handles = [loop.call_soon_threadsafe(print, i) for i in range(50)]\n"
        "    contexts.append(handles[0].get_context())\n"
        "    loop._ready.clear()\n"
        "    del handles\n"
        "    gc.collect()\n"
        "    loop.stop()\n"
        "loop.call_soon(queue_then_drop)\n"
        "loop.run_forever()\n"
        "assert gc.is_tracked(contexts[0])\n"
        "loop.close()\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# uvloop is left out: its loop stays alive in this case (never collected, never warned).
@pytest.mark.parametrize("kind", ["asyncio", "batonio"])
def test_a_stopped_loop_dropped_with_threadsafe_calls_queued_is_collected(kind: str) -> None:
    """Calls queued from a thread while the loop ran, the loop stopped and dropped unclosed:
    the collector still finds it and it warns, as an asyncio loop does."""
    import gc
    import warnings
    import weakref

    loop = make_loop_factory(kind)()

    def flood_from_a_thread(running: asyncio.AbstractEventLoop) -> None:
        producer = threading.Thread(
            target=lambda: [running.call_soon_threadsafe(time.monotonic) for _ in range(500)]
        )
        producer.start()
        producer.join()
        running.stop()

    loop.call_soon(flood_from_a_thread, loop)
    loop.run_forever()
    if hasattr(loop, "_ready"):  # asyncio's and ours: the calls are still queued
        assert len(loop._ready) >= 500
    ref = weakref.ref(loop)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        del loop
        gc.collect()
    assert ref() is None
    assert any("unclosed event loop" in str(w.message) for w in caught)
