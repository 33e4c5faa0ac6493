# cython: annotation_typing=False
"""Queues for tasks: Queue (FIFO), PriorityQueue (lowest first) and LifoQueue.

Behaviour follows ``asyncio.queues`` of the running Python, built only on the public loop API
(``loop.create_future()``) and the future protocol.  ``QueueEmpty``, ``QueueFull`` and, on
3.13, ``QueueShutDown`` are asyncio's own classes; ``shutdown()`` exists on 3.13 only.

Invariants:

* ``_getters`` / ``_putters`` hold the futures of blocked ``get()`` / ``put()`` calls in FIFO
  order.  Whoever makes an item (or a free slot) available pops the first live waiter and
  resolves it; the woken task re-checks the queue, because a ``*_nowait`` call may have taken
  the item first.
* A woken waiter that is cancelled before it runs passes its wake-up to the next waiter, so
  cancellation never strands an item or a slot.
* ``_finished`` (an Event of the same build) is set exactly when ``_unfinished_tasks == 0``;
  it is therefore cleared only on the 0 -> 1 transition, which keeps ``put_nowait`` cheap.
* The subclass hooks ``_init`` / ``_put`` / ``_get`` are honoured as in asyncio.
"""

from __future__ import annotations

import collections
import heapq
import sys
from asyncio import QueueEmpty, QueueFull
from asyncio.futures import Future
from types import GenericAlias
from typing import Any, Generic, TypeVar

from ._loop_binding import LoopBound, _reject_keywords

if __name__.endswith("_c"):  # the compiled build pairs with the compiled locks
    from ._locks_c import Event
else:
    from ._locks_py import Event  # type: ignore[assignment]

__all__ = ["LifoQueue", "PriorityQueue", "Queue", "QueueEmpty", "QueueFull"]

if sys.version_info >= (3, 13):
    from asyncio import QueueShutDown

    __all__ += ["QueueShutDown"]
    _ShutDown: type[Exception] = QueueShutDown
else:
    # Never raised: only shutdown(), which 3.11 and 3.12 lack, marks a queue shut down.
    _ShutDown = RuntimeError

_T = TypeVar("_T")
_deque = collections.deque
_heappush = heapq.heappush
_heappop = heapq.heappop


def _wake_next(waiters: collections.deque[Future[None]]) -> None:
    """Resolve the first waiter that is not already done, dropping the done ones."""
    while waiters:
        waiter = waiters.popleft()
        if not waiter.done():
            waiter.set_result(None)
            return


class Queue(LoopBound, Generic[_T]):
    """A FIFO queue for tasks; ``maxsize <= 0`` means unbounded."""

    # The container is chosen by the _init hook (deque here, list in the subclasses).
    _queue: Any

    def __init__(self, maxsize: int = 0, **unexpected: object) -> None:
        """Create a queue holding at most ``maxsize`` items (unbounded if <= 0)."""
        if unexpected:
            _reject_keywords("Queue", unexpected)
        self._maxsize = maxsize
        self._getters: collections.deque[Future[None]] = _deque()
        self._putters: collections.deque[Future[None]] = _deque()
        self._unfinished_tasks = 0
        self._finished = Event()
        self._finished.set()
        self._init(maxsize)
        self._is_shutdown = False

    # Hooks for subclasses, as in asyncio.

    def _init(self, maxsize: int) -> None:
        self._queue = _deque()

    def _get(self) -> _T:
        return self._queue.popleft()  # type: ignore[no-any-return]

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    # Presentation.

    def __repr__(self) -> str:
        """Show the class, the address and the state."""
        return f"<{type(self).__name__} at {id(self):#x} {self._format()}>"

    def __str__(self) -> str:
        """Show the class and the state."""
        return f"<{type(self).__name__} {self._format()}>"

    __class_getitem__ = classmethod(GenericAlias)  # type: ignore[assignment,var-annotated]

    def _format(self) -> str:
        result = f"maxsize={self._maxsize!r}"
        if getattr(self, "_queue", None):
            result += f" _queue={list(self._queue)!r}"
        if self._getters:
            result += f" _getters[{len(self._getters)}]"
        if self._putters:
            result += f" _putters[{len(self._putters)}]"
        if self._unfinished_tasks:
            result += f" tasks={self._unfinished_tasks}"
        if self._is_shutdown:
            result += " shutdown"
        return result

    # State.

    def qsize(self) -> int:
        """Return the number of items in the queue."""
        return len(self._queue)

    @property
    def maxsize(self) -> int:
        """The number of items allowed in the queue (<= 0: unbounded)."""
        return self._maxsize

    def empty(self) -> bool:
        """Return True if the queue holds no item."""
        return not self._queue

    def full(self) -> bool:
        """Return True if the queue holds ``maxsize`` items; never for an unbounded queue."""
        if self._maxsize <= 0:
            return False
        return self.qsize() >= self._maxsize

    # Putting.

    async def put(self, item: _T) -> None:
        """Put ``item``, waiting for a free slot while the queue is full."""
        maxsize = self._maxsize
        while maxsize > 0 and len(self._queue) >= maxsize:
            if self._is_shutdown:
                raise _ShutDown
            putter: Future[None] = self._get_loop().create_future()
            putters = self._putters
            putters.append(putter)
            try:
                await putter
            except BaseException:
                putter.cancel()  # in case it is still pending
                try:
                    putters.remove(putter)
                except ValueError:
                    pass  # already popped by get_nowait() or shutdown()
                if not self.full() and not putter.cancelled():
                    # We were given the free slot but will not use it: pass it on.
                    _wake_next(putters)
                raise
        return self.put_nowait(item)

    def put_nowait(self, item: _T) -> None:
        """Put ``item`` if a slot is free, else raise QueueFull."""
        if self._is_shutdown:
            raise _ShutDown
        maxsize = self._maxsize
        if maxsize > 0 and len(self._queue) >= maxsize:
            raise QueueFull
        self._put(item)
        if self._unfinished_tasks == 0:
            self._finished.clear()
        self._unfinished_tasks += 1
        getters = self._getters
        if getters:
            _wake_next(getters)

    # Getting.

    async def get(self) -> _T:
        """Remove and return an item, waiting while the queue is empty."""
        while not self._queue:
            if self._is_shutdown:
                raise _ShutDown
            getter: Future[None] = self._get_loop().create_future()
            getters = self._getters
            getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()  # in case it is still pending
                try:
                    getters.remove(getter)
                except ValueError:
                    pass  # already popped by put_nowait() or shutdown()
                if self._queue and not getter.cancelled():
                    # We were given an item but will not take it: pass it on.
                    _wake_next(getters)
                raise
        return self.get_nowait()

    def get_nowait(self) -> _T:
        """Remove and return an item if one is available, else raise QueueEmpty."""
        if not self._queue:
            if self._is_shutdown:
                raise _ShutDown
            raise QueueEmpty
        item = self._get()
        putters = self._putters
        if putters:
            _wake_next(putters)
        return item

    # Accounting.

    def task_done(self) -> None:
        """Mark one fetched item as processed; ``join()`` returns when none is left."""
        if self._unfinished_tasks <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished_tasks -= 1
        if self._unfinished_tasks == 0:
            self._finished.set()

    async def join(self) -> None:
        """Wait until every item put so far has been fetched and marked done."""
        if self._unfinished_tasks > 0:
            await self._finished.wait()

    if sys.version_info >= (3, 13):

        def shutdown(self, immediate: bool = False) -> None:
            """Shut the queue down: puts raise QueueShutDown, gets once it is empty."""
            self._is_shutdown = True
            if immediate:
                # Drop the items, each counted as done, so join() can return.
                while self._queue:
                    self._get()
                    if self._unfinished_tasks > 0:
                        self._unfinished_tasks -= 1
                if self._unfinished_tasks == 0:
                    self._finished.set()
            # Every blocked caller re-checks and raises.
            for waiters in (self._getters, self._putters):
                while waiters:
                    waiter = waiters.popleft()
                    if not waiter.done():
                        waiter.set_result(None)


class PriorityQueue(Queue[_T]):
    """A queue that returns the lowest item first (entries like ``(priority, data)``)."""

    def _init(self, maxsize: int) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        _heappush(self._queue, item)

    def _get(self) -> _T:
        return _heappop(self._queue)  # type: ignore[no-any-return]


class LifoQueue(Queue[_T]):
    """A queue that returns the most recently added item first."""

    def _init(self, maxsize: int) -> None:
        self._queue = []

    def _put(self, item: _T) -> None:
        self._queue.append(item)

    def _get(self) -> _T:
        return self._queue.pop()  # type: ignore[no-any-return]
