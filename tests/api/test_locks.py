"""batonio's Lock, Event, Condition, Semaphore, BoundedSemaphore and Barrier.

Every test runs on stdlib asyncio, uvloop and batonio loops (the ``loop`` fixture); the
differential tests play the same interleavings against asyncio's own classes and compare.
"""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

import pytest
from _differential import Scenario, compare
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batonio._api import _sync
from batonio._api._sync import (
    Barrier,
    BoundedSemaphore,
    BrokenBarrierError,
    Condition,
    Event,
    Lock,
    Semaphore,
)

Run = Callable[..., Any]


async def _spin(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _expected_repr(obj: object, extra: str) -> str:
    return f"<{type(obj).__module__}.{type(obj).__qualname__} object at {id(obj):#x} [{extra}]>"


# --- surface -------------------------------------------------------------------------------


def test_exceptions_are_asyncios() -> None:
    assert BrokenBarrierError is asyncio.BrokenBarrierError


@pytest.mark.parametrize("cls", [Lock, Event, Condition, Semaphore, BoundedSemaphore])
def test_loop_keyword_is_refused(cls: type) -> None:
    with pytest.raises(TypeError):
        cls(loop=None)


def test_reprs(run: Run) -> None:
    async def main() -> None:
        lock = Lock()
        assert repr(lock) == _expected_repr(lock, "unlocked")
        await lock.acquire()
        assert repr(lock) == _expected_repr(lock, "locked")
        waiter = asyncio.ensure_future(lock.acquire())
        await _spin(1)
        assert repr(lock) == _expected_repr(lock, "locked, waiters:1")
        lock.release()
        await waiter
        ev = Event()
        assert repr(ev) == _expected_repr(ev, "unset")
        ev.set()
        assert repr(ev) == _expected_repr(ev, "set")
        sem = Semaphore(2)
        assert repr(sem) == _expected_repr(sem, "unlocked, value:2")
        cond = Condition()
        assert repr(cond) == _expected_repr(cond, "unlocked")
        barrier = Barrier(3)
        assert repr(barrier) == _expected_repr(barrier, "filling, waiters:0/3")
        await barrier.abort()
        assert repr(barrier) == _expected_repr(barrier, "broken")

    run(main())


# --- Lock ----------------------------------------------------------------------------------


def test_lock_release_unlocked(run: Run) -> None:
    with pytest.raises(RuntimeError, match=r"^Lock is not acquired\.$"):
        Lock().release()


def test_lock_context_manager(run: Run) -> None:
    async def main() -> None:
        lock = Lock()
        async with lock as value:
            assert value is None
            assert lock.locked()
        assert not lock.locked()

    run(main())


def test_lock_fifo(run: Run) -> None:
    async def main() -> list[int]:
        lock = Lock()
        order: list[int] = []

        async def worker(i: int) -> None:
            async with lock:
                order.append(i)
                await asyncio.sleep(0)

        await lock.acquire()
        tasks = [asyncio.ensure_future(worker(i)) for i in range(5)]
        await _spin()
        # A newcomer does not jump the queue while waiters are live.
        lock.release()
        assert await asyncio.wait_for(lock.acquire(), 1) is True
        lock.release()
        await asyncio.gather(*tasks)
        return order

    assert run(main()) == [0, 1, 2, 3, 4]


def test_lock_woken_then_cancelled_passes_turn(run: Run) -> None:
    async def main() -> None:
        lock = Lock()
        await lock.acquire()
        first = asyncio.ensure_future(lock.acquire())
        second = asyncio.ensure_future(lock.acquire())
        await _spin()
        lock.release()  # wakes `first`...
        first.cancel()  # ...which is cancelled before it runs
        await asyncio.wait_for(second, 1)
        assert first.cancelled()
        assert lock.locked()
        lock.release()
        assert not lock._waiters

    run(main())


def test_lock_cancelled_waiters_do_not_block_fast_path(run: Run) -> None:
    async def main() -> None:
        lock = Lock()
        await lock.acquire()
        waiter = asyncio.ensure_future(lock.acquire())
        await _spin()
        waiter.cancel()
        lock.release()
        await asyncio.wait_for(lock.acquire(), 1)
        assert lock.locked()
        await _spin()
        assert waiter.cancelled()

    run(main())


# --- Event ---------------------------------------------------------------------------------


def test_event_wakes_all(run: Run) -> None:
    async def main() -> None:
        ev = Event()
        assert not ev.is_set()
        waiters = [asyncio.ensure_future(ev.wait()) for _ in range(3)]
        await _spin()
        ev.set()
        ev.clear()  # waiters already granted stay granted
        assert await asyncio.gather(*waiters) == [True, True, True]
        assert not ev._waiters
        ev.set()
        assert await ev.wait() is True

    run(main())


def test_event_cancelled_waiter_is_removed(run: Run) -> None:
    async def main() -> None:
        ev = Event()
        waiter = asyncio.ensure_future(ev.wait())
        await _spin()
        waiter.cancel()
        await _spin()
        assert waiter.cancelled() and not ev._waiters

    run(main())


# --- Condition -----------------------------------------------------------------------------


def test_condition_requires_lock(run: Run) -> None:
    async def main() -> None:
        cond = Condition()
        with pytest.raises(RuntimeError, match="^cannot wait on un-acquired lock$"):
            await cond.wait()
        with pytest.raises(RuntimeError, match="^cannot notify on un-acquired lock$"):
            cond.notify()
        with pytest.raises(RuntimeError, match="^cannot notify on un-acquired lock$"):
            cond.notify_all()

    run(main())


def test_condition_notify_order_and_count(run: Run) -> None:
    async def main() -> list[int]:
        cond = Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            async with cond:
                await cond.wait()
                woken.append(i)

        tasks = [asyncio.ensure_future(waiter(i)) for i in range(4)]
        await _spin()
        async with cond:
            cond.notify(2)
        await _spin()
        assert woken == [0, 1]
        async with cond:
            cond.notify_all()
        await asyncio.gather(*tasks)
        return woken

    assert run(main()) == [0, 1, 2, 3]


def test_condition_wait_for_and_shared_lock(run: Run) -> None:
    async def main() -> None:
        lock = Lock()
        cond = Condition(lock)
        assert cond.locked is not None
        box: list[int] = []

        async def consumer() -> int:
            async with cond:
                return await cond.wait_for(lambda: len(box))

        task = asyncio.ensure_future(consumer())
        await _spin()
        async with lock:
            box.append(1)
            cond.notify()
        assert await task == 1

    run(main())


def test_condition_cancelled_wait_reacquires(run: Run) -> None:
    async def main() -> None:
        cond = Condition()

        async def waiter() -> None:
            async with cond:
                try:
                    await cond.wait()
                finally:
                    assert cond.locked()

        task = asyncio.ensure_future(waiter())
        await _spin()
        await cond.acquire()
        task.cancel()
        await _spin()
        assert not task.done()  # it waits to get the lock back
        cond.release()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not cond.locked()

    run(main())


def test_condition_notified_then_cancelled(run: Run) -> None:
    """A waiter cancelled after being notified: 3.13 passes the notification on."""

    async def main() -> bool:
        cond = Condition()
        woken: list[int] = []

        async def waiter(i: int) -> None:
            async with cond:
                await cond.wait()
                woken.append(i)

        first = asyncio.ensure_future(waiter(0))
        second = asyncio.ensure_future(waiter(1))
        await _spin()
        async with cond:
            cond.notify(1)
            first.cancel()
        await _spin()
        assert first.cancelled()
        second_woken = woken == [1]
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        return second_woken

    assert run(main()) is (sys.version_info >= (3, 13))


# --- Semaphore -----------------------------------------------------------------------------


def test_semaphore_bad_value() -> None:
    with pytest.raises(ValueError, match=r"^Semaphore initial value must be >= 0$"):
        Semaphore(-1)


def test_bounded_semaphore_over_release(run: Run) -> None:
    async def main() -> None:
        sem = BoundedSemaphore(2)
        async with sem:
            pass
        with pytest.raises(ValueError, match="^BoundedSemaphore released too many times$"):
            sem.release()

    run(main())


def test_semaphore_fifo_and_locked(run: Run) -> None:
    async def main() -> list[int]:
        sem = Semaphore(2)
        order: list[int] = []

        async def worker(i: int) -> None:
            async with sem:
                order.append(i)
                await asyncio.sleep(0)

        assert not sem.locked()
        await asyncio.gather(*(worker(i) for i in range(6)))
        assert sem._value == 2
        return order

    assert run(main()) == [0, 1, 2, 3, 4, 5]


def test_semaphore_granted_then_cancelled_passes_slot(run: Run) -> None:
    async def main() -> None:
        sem = Semaphore(0)
        first = asyncio.ensure_future(sem.acquire())
        second = asyncio.ensure_future(sem.acquire())
        await _spin()
        sem.release()
        first.cancel()
        assert await asyncio.wait_for(second, 1) is True
        assert first.cancelled()
        assert sem._value == 0
        sem.release()
        assert sem._value == 1 and not sem.locked()

    run(main())


# --- Barrier -------------------------------------------------------------------------------


def test_barrier_bad_parties() -> None:
    with pytest.raises(ValueError, match=r"^parties must be > 0$"):
        Barrier(0)


def test_barrier_trips_and_cycles(run: Run) -> None:
    async def main() -> None:
        barrier = Barrier(3)
        for _ in range(2):
            indexes = await asyncio.gather(*(barrier.wait() for _ in range(3)))
            assert sorted(indexes) == [0, 1, 2]
            assert barrier.n_waiting == 0 and not barrier.broken
        async with Barrier(1) as index:
            assert index == 0

    run(main())


def test_barrier_abort_and_reset(run: Run) -> None:
    async def main() -> None:
        barrier = Barrier(3)
        waiters = [asyncio.ensure_future(barrier.wait()) for _ in range(2)]
        await _spin()
        assert barrier.n_waiting == 2
        await barrier.reset()
        for w in waiters:
            with pytest.raises(BrokenBarrierError):
                await w
        assert not barrier.broken
        waiter = asyncio.ensure_future(barrier.wait())
        await _spin()
        await barrier.abort()
        with pytest.raises(BrokenBarrierError):
            await waiter
        assert barrier.broken
        with pytest.raises(BrokenBarrierError):
            await barrier.wait()
        await barrier.reset()
        assert not barrier.broken
        assert sorted(await asyncio.gather(*(barrier.wait() for _ in range(3)))) == [0, 1, 2]

    run(main())


# --- loop binding --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Lock", "Event", "Semaphore", "Condition"])
def test_bound_to_first_loop(name: str, loop_factory: Callable[[], asyncio.AbstractEventLoop],
                             run: Run) -> None:
    obj = getattr(_sync, name)() if name != "Semaphore" else Semaphore(0)

    async def block() -> None:
        if isinstance(obj, Event):
            await obj.wait()
        elif isinstance(obj, Condition):
            async with obj:
                await obj.wait()
        else:
            if isinstance(obj, Lock):
                await obj.acquire()
            await obj.acquire()

    async def bind() -> None:
        task = asyncio.ensure_future(block())
        await _spin()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(bind())
    other = loop_factory()
    try:
        with pytest.raises(RuntimeError, match="is bound to a different event loop$"):
            other.run_until_complete(block())
    finally:
        other.close()
        asyncio.set_event_loop(None)


# --- differential: same interleavings as asyncio's classes ---------------------------------


async def _acquirer(obj: Any, i: int, trace: list[Any]) -> None:
    trace.append(("acquired", i, await obj.acquire()))


async def _holder(obj: Any, i: int, trace: list[Any]) -> None:
    async with obj:
        trace.append(("in", i))
        await asyncio.sleep(0)
    trace.append(("out", i))


def _release(obj: Any) -> None:
    obj.release()


def _waiters(obj: Any) -> int:
    return len(obj._waiters or ())


LOCK = Scenario(
    make=lambda ns: ns.Lock(),
    tasks=[_acquirer, _holder],
    actions=[("release", _release), ("locked", lambda o: o.locked())],
    observe=lambda o: (o.locked(), _waiters(o)),
)


def _semaphore(bounded: bool) -> Scenario:
    return Scenario(
        make=lambda ns: (ns.BoundedSemaphore if bounded else ns.Semaphore)(1),
        tasks=[_acquirer, _holder],
        actions=[("release", _release), ("locked", lambda o: o.locked())],
        observe=lambda o: (o.locked(), o._value, _waiters(o)),
    )


async def _event_waiter(obj: Any, i: int, trace: list[Any]) -> None:
    trace.append(("woke", i, await obj.wait()))


EVENT = Scenario(
    make=lambda ns: ns.Event(),
    tasks=[_event_waiter],
    actions=[("set", lambda o: o.set()), ("clear", lambda o: o.clear())],
    observe=lambda o: (o.is_set(), _waiters(o)),
)


async def _cond_waiter(obj: Any, i: int, trace: list[Any]) -> None:
    async with obj:
        trace.append(("waited", i, await obj.wait()))


async def _cond_notifier(obj: Any, i: int, trace: list[Any]) -> None:
    async with obj:
        obj.notify(1)
        trace.append(("notified", i))


CONDITION = Scenario(
    make=lambda ns: ns.Condition(),
    tasks=[_cond_waiter, _cond_waiter, _cond_notifier],
    actions=[("locked", lambda o: o.locked())],
    observe=lambda o: (o.locked(), _waiters(o), _waiters(o._lock)),
)

SCRIPTS = st.lists(
    st.tuples(st.sampled_from(["spawn", "sync", "cancel", "step", "step"]),
              st.integers(0, 7)),
    max_size=25,
)


@pytest.mark.parametrize(
    "scenario",
    [LOCK, _semaphore(False), _semaphore(True), EVENT, CONDITION],
    ids=["Lock", "Semaphore", "BoundedSemaphore", "Event", "Condition"],
)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=SCRIPTS)
def test_same_as_asyncio(scenario: Scenario, script: list[tuple[str, int]],
                         loop: asyncio.AbstractEventLoop) -> None:
    expected, actual = compare(loop, _sync, scenario, script)
    assert actual == expected


def test_build_selection() -> None:
    """The selector gives the compiled build unless told not to (or it is not built)."""
    from batonio import _extensions

    if _extensions.NO_EXTENSIONS:
        assert _sync._locks.__name__.endswith("_locks_py")
        assert _sync._queues.__name__.endswith("_queues_py")
    elif _extensions._is_built("batonio._api._locks_c"):
        assert _sync._locks.__name__.endswith("_locks_c")
    # Queues pair with the locks of the same build (Queue.join waits on their Event).
    assert type(_sync.Queue()._finished) is _sync.Event
