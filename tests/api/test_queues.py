"""batonio's Queue, PriorityQueue and LifoQueue.

Every test runs on stdlib asyncio, uvloop and batonio loops (the ``loop`` fixture); the
differential test plays the same interleavings against asyncio's own queues and compares.
"""
from __future__ import annotations

import asyncio
import re
import sys
import types
from collections.abc import Callable
from typing import Any

import pytest
from _differential import Scenario, compare
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batonio._api import _sync
from batonio._api._sync import LifoQueue, PriorityQueue, Queue, QueueEmpty, QueueFull

Run = Callable[..., Any]
PY313 = sys.version_info >= (3, 13)


async def _spin(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def test_exceptions_are_asyncios() -> None:
    assert QueueEmpty is asyncio.QueueEmpty
    assert QueueFull is asyncio.QueueFull
    if PY313:
        assert _sync.QueueShutDown is asyncio.QueueShutDown
    assert hasattr(Queue, "shutdown") is PY313


def test_generic_alias() -> None:
    alias = Queue[int]
    assert isinstance(alias, types.GenericAlias)
    assert alias.__origin__ is Queue and alias.__args__ == (int,)


def test_repr_and_str(run: Run) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(3)
        assert repr(q) == f"<Queue at {id(q):#x} maxsize=3>"
        q.put_nowait(1)
        q.put_nowait(2)
        assert str(q) == "<Queue maxsize=3 _queue=[1, 2] tasks=2>"
        e: Queue[int] = Queue()
        getter = asyncio.ensure_future(e.get())
        await _spin()
        assert str(e) == "<Queue maxsize=0 _getters[1]>"
        e.put_nowait(5)
        assert await getter == 5
        assert re.fullmatch(r"<LifoQueue at 0x[0-9a-f]+ maxsize=0>", repr(LifoQueue()))

    run(main())


def test_basic_state(run: Run) -> None:
    q: Queue[str] = Queue(2)
    assert q.maxsize == 2 and q.empty() and not q.full() and q.qsize() == 0
    q.put_nowait("a")
    q.put_nowait("b")
    assert q.full() and q.qsize() == 2
    with pytest.raises(QueueFull):
        q.put_nowait("c")
    assert q.get_nowait() == "a"
    assert q.get_nowait() == "b"
    with pytest.raises(QueueEmpty):
        q.get_nowait()
    assert not Queue(0).full() and not Queue(-1).full()


def test_priority_and_lifo_order() -> None:
    pq: PriorityQueue[int] = PriorityQueue()
    lq: LifoQueue[int] = LifoQueue()
    for item in (3, 1, 2):
        pq.put_nowait(item)
        lq.put_nowait(item)
    assert [pq.get_nowait() for _ in range(3)] == [1, 2, 3]
    assert [lq.get_nowait() for _ in range(3)] == [2, 1, 3]


def test_subclass_hooks() -> None:
    class SetQueue(Queue[int]):
        def _init(self, maxsize: int) -> None:
            self._queue = []

        def _put(self, item: int) -> None:
            if item not in self._queue:
                self._queue.append(item)

        def _get(self) -> int:
            return self._queue.pop(0)  # type: ignore[no-any-return]

    q = SetQueue()
    for item in (1, 1, 2):
        q.put_nowait(item)
    assert q.qsize() == 2 and q.get_nowait() == 1


def test_task_done_too_many_times() -> None:
    q: Queue[int] = Queue()
    with pytest.raises(ValueError, match=r"^task_done\(\) called too many times$"):
        q.task_done()


def test_join(run: Run) -> None:
    async def main() -> list[int]:
        q: Queue[int] = Queue()
        await q.join()  # nothing unfinished: returns at once
        done: list[int] = []

        async def worker() -> None:
            while True:
                item = await q.get()
                done.append(item)
                q.task_done()

        workers = [asyncio.ensure_future(worker()) for _ in range(2)]
        for i in range(6):
            await q.put(i)
        await q.join()
        for w in workers:
            w.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        return done

    assert run(main()) == list(range(6))


def test_blocking_put_get_fifo(run: Run) -> None:
    async def main() -> tuple[list[int], list[int]]:
        q: Queue[int] = Queue(1)
        got: list[int] = []
        put_order: list[int] = []

        async def producer(i: int) -> None:
            await q.put(i)
            put_order.append(i)

        producers = [asyncio.ensure_future(producer(i)) for i in range(4)]
        await _spin()
        for _ in range(4):
            got.append(await q.get())
        await asyncio.gather(*producers)
        return got, put_order

    assert run(main()) == ([0, 1, 2, 3], [0, 1, 2, 3])


def test_woken_getter_cancelled_passes_item(run: Run) -> None:
    async def main() -> None:
        q: Queue[int] = Queue()
        first = asyncio.ensure_future(q.get())
        second = asyncio.ensure_future(q.get())
        await _spin()
        q.put_nowait(7)  # wakes `first`...
        first.cancel()  # ...which is cancelled before it runs
        assert await asyncio.wait_for(second, 1) == 7
        assert first.cancelled() and not q._getters

    run(main())


def test_woken_putter_cancelled_passes_slot(run: Run) -> None:
    async def main() -> None:
        q: Queue[int] = Queue(1)
        q.put_nowait(0)
        first = asyncio.ensure_future(q.put(1))
        second = asyncio.ensure_future(q.put(2))
        await _spin()
        assert q.get_nowait() == 0  # wakes `first`...
        first.cancel()  # ...which is cancelled before it runs
        await asyncio.wait_for(second, 1)
        assert first.cancelled() and q.get_nowait() == 2

    run(main())


@pytest.mark.skipif(not PY313, reason="Queue.shutdown() is new in 3.13")
def test_shutdown(run: Run) -> None:
    async def main() -> None:
        shut_down = _sync.QueueShutDown
        q: Queue[int] = Queue(1)
        q.put_nowait(1)
        putter = asyncio.ensure_future(q.put(2))
        empty: Queue[int] = Queue()
        getter = asyncio.ensure_future(empty.get())
        await _spin()
        q.shutdown()
        empty.shutdown()
        with pytest.raises(shut_down):
            await putter
        with pytest.raises(shut_down):
            await getter
        with pytest.raises(shut_down):
            q.put_nowait(3)
        assert q.get_nowait() == 1  # gets drain what is left...
        with pytest.raises(shut_down):
            q.get_nowait()  # ...then raise
        assert "shutdown" in repr(q)
        r: Queue[int] = Queue()
        r.put_nowait(1)
        r.shutdown(immediate=True)
        assert r.empty()
        await r.join()

    run(main())


# --- differential: same interleavings as asyncio's queues ----------------------------------



async def _getter(q: Any, i: int, trace: list[Any]) -> None:
    trace.append(("got", i, await q.get()))


async def _putter(q: Any, i: int, trace: list[Any]) -> None:
    await q.put(i)
    trace.append(("put", i))


async def _joiner(q: Any, i: int, trace: list[Any]) -> None:
    await q.join()
    trace.append(("joined", i))


def _queue_scenario(kind: str, maxsize: int) -> Scenario:
    actions: list[tuple[str, Callable[[Any], Any]]] = [
        ("put_nowait", lambda q: q.put_nowait(100 + q.qsize())),
        ("get_nowait", lambda q: q.get_nowait()),
        ("task_done", lambda q: q.task_done()),
    ]
    if PY313:
        actions.append(("shutdown", lambda q: q.shutdown()))
    return Scenario(
        make=lambda ns: getattr(ns, kind)(maxsize),
        tasks=[_getter, _putter, _getter, _joiner],
        actions=actions,
        observe=lambda q: (str(q), q.full(), q.empty()),
    )


@pytest.mark.parametrize(
    ("kind", "maxsize"),
    [("Queue", 0), ("Queue", 1), ("Queue", 2), ("PriorityQueue", 2), ("LifoQueue", 1)],
)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(
    st.tuples(st.sampled_from(["spawn", "sync", "cancel", "step", "step"]), st.integers(0, 7)),
    max_size=25,
))
def test_same_as_asyncio(kind: str, maxsize: int, script: list[tuple[str, int]],
                         loop: asyncio.AbstractEventLoop) -> None:
    expected, actual = compare(loop, _sync, _queue_scenario(kind, maxsize), script)
    assert actual == expected
