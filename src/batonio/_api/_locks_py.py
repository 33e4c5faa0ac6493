# cython: annotation_typing=False
"""Synchronisation primitives: Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier.

Behaviour follows ``asyncio.locks`` of the running Python, built only on the public loop API
(``loop.create_future()``) and the future protocol, so the same objects work on a stock
asyncio loop, on uvloop and on batonio's loop.  Exceptions are asyncio's own classes.

Shared invariants:

* Waiters are futures kept in FIFO order in a ``collections.deque``; a waiter removes its own
  future when it resumes, whatever the outcome.
* A wake-up is never lost to cancellation: a waiter that was granted the resource (its future
  has a result) but is cancelled before it runs hands the grant on to the next waiter.
* Fast paths (uncontended acquire, set event, no waiters) neither create a future nor look up
  the running loop; only code that is about to suspend binds the primitive to its loop.

Version differences (``sys.version_info``), as in CPython's installed sources:

* 3.13 (gh-90155 and the Condition fixes that followed): ``Semaphore.acquire`` keeps FIFO
  order by waking as many waiters as the counter allows when a waiter leaves;
  ``Condition.wait`` passes a notification on to another waiter when it fails after being
  notified, and re-raises the last ``CancelledError`` instance it caught.
* 3.11 and 3.12: the earlier behaviour of both.
"""

from __future__ import annotations

import collections
import sys
from asyncio import exceptions
from asyncio.futures import Future
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, Literal, TypeVar

from ._loop_binding import LoopBound, _reject_keywords

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "Lock",
    "Semaphore",
]

_T = TypeVar("_T")

BrokenBarrierError = exceptions.BrokenBarrierError
_CancelledError = exceptions.CancelledError
_deque = collections.deque

#: gh-90155: FIFO-preserving Semaphore and notification-preserving Condition.wait.
_FIFO_FIXES: bool = sys.version_info >= (3, 13)


def _any_pending(waiters: collections.deque[Future[Any]]) -> bool:
    """Tell whether some waiter in ``waiters`` has not been cancelled."""
    for fut in waiters:
        if not fut.cancelled():
            return True
    return False


def _describe(obj: object, extra: str) -> str:
    """Format ``<module.Class object at 0x... [extra]>`` the way asyncio's primitives do."""
    return f"<{object.__repr__(obj)[1:-1]} [{extra}]>"


class _HeldWithAsyncWith:
    """``async with x`` acquires on entry and releases on exit; binds nothing."""

    async def __aenter__(self) -> None:
        """Acquire."""
        await self.acquire()  # type: ignore[attr-defined]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release."""
        self.release()  # type: ignore[attr-defined]


class Lock(_HeldWithAsyncWith, LoopBound):
    """A mutual-exclusion lock for tasks, fair (FIFO) among waiters."""

    _waiters: collections.deque[Future[bool]] | None
    _locked: bool

    def __init__(self, **unexpected: object) -> None:
        """Create an unlocked lock."""
        if unexpected:
            _reject_keywords("Lock", unexpected)
        self._waiters = None
        self._locked = False

    def __repr__(self) -> str:
        """Describe the state: locked or unlocked, and the number of waiters."""
        extra = "locked" if self._locked else "unlocked"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return _describe(self, extra)

    def locked(self) -> bool:
        """Return True if the lock is held."""
        return self._locked

    async def acquire(self) -> Literal[True]:
        """Wait until the lock is free and every earlier waiter has been served; take it."""
        waiters = self._waiters
        if not self._locked and (not waiters or not _any_pending(waiters)):
            # Jumping the queue is allowed only when nobody live is queued.
            self._locked = True
            return True
        if waiters is None:
            waiters = self._waiters = _deque()
        fut: Future[bool] = self._get_loop().create_future()
        waiters.append(fut)
        try:
            try:
                await fut
            finally:
                waiters.remove(fut)
        except _CancelledError:
            # We may have been handed the lock just before the cancellation arrived:
            # pass the turn to the next waiter so that it is not lost.
            if not self._locked:
                self._wake_up_first()
            raise
        self._locked = True
        return True

    def release(self) -> None:
        """Release the lock and let the first waiter, if any, take it."""
        if not self._locked:
            raise RuntimeError("Lock is not acquired.")
        self._locked = False
        if self._waiters:
            self._wake_up_first()

    def _wake_up_first(self) -> None:
        """Make sure the waiter at the head of the queue will run."""
        waiters = self._waiters
        if waiters:
            fut = waiters[0]
            # A done head is already on its way: it takes the lock or, cancelled,
            # comes back here to wake the next one.
            if not fut.done():
                fut.set_result(True)


class Event(LoopBound):
    """A flag that tasks can wait for; every waiter wakes when it is set."""

    _waiters: collections.deque[Future[bool]]
    _value: bool

    def __init__(self, **unexpected: object) -> None:
        """Create an event whose flag is clear."""
        if unexpected:
            _reject_keywords("Event", unexpected)
        self._waiters = _deque()
        self._value = False

    def __repr__(self) -> str:
        """Describe the state: set or unset, and the number of waiters."""
        extra = "set" if self._value else "unset"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return _describe(self, extra)

    def is_set(self) -> bool:
        """Return True if the flag is set."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        if not self._value:
            self._value = True
            for fut in self._waiters:
                if not fut.done():
                    fut.set_result(True)

    def clear(self) -> None:
        """Clear the flag; later waiters block until the next ``set()``."""
        self._value = False

    async def wait(self) -> Literal[True]:
        """Return True at once if the flag is set, else block until it is set."""
        if self._value:
            return True
        fut: Future[bool] = self._get_loop().create_future()
        waiters = self._waiters
        waiters.append(fut)
        try:
            await fut
            return True
        finally:
            waiters.remove(fut)


class Condition(_HeldWithAsyncWith, LoopBound):
    """A condition variable: tasks wait, holding a lock, until another task notifies them."""

    _waiters: collections.deque[Future[bool]]
    locked: Callable[[], bool]
    acquire: Callable[[], Coroutine[Any, Any, bool]]
    release: Callable[[], None]

    def __init__(self, lock: Lock | None = None, **unexpected: object) -> None:
        """Create a condition over ``lock`` (a new Lock when omitted)."""
        if unexpected:
            _reject_keywords("Condition", unexpected)
        if lock is None:
            lock = Lock()
        self._lock = lock
        # The lock's own methods, exported as asyncio does.
        self.locked = lock.locked
        self.acquire = lock.acquire
        self.release = lock.release
        self._waiters = _deque()

    def __repr__(self) -> str:
        """Describe the state of the lock and the number of waiters."""
        extra = "locked" if self.locked() else "unlocked"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return _describe(self, extra)

    async def wait(self) -> Literal[True]:
        """Release the lock, wait for a notification, re-acquire the lock; return True."""
        if not self.locked():
            raise RuntimeError("cannot wait on un-acquired lock")
        if _FIFO_FIXES:
            return await self._wait_313()
        self.release()
        try:
            fut: Future[bool] = self._get_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut
                return True
            finally:
                self._waiters.remove(fut)
        finally:
            # The caller holds the lock again on every way out, even when cancelled.
            cancelled = False
            while True:
                try:
                    await self.acquire()
                    break
                except _CancelledError:
                    cancelled = True
            if cancelled:
                raise _CancelledError

    async def _wait_313(self) -> Literal[True]:
        """``wait()`` as of 3.13: a failing notified waiter notifies someone else."""
        fut: Future[bool] = self._get_loop().create_future()
        self.release()
        try:
            try:
                self._waiters.append(fut)
                try:
                    await fut
                    return True
                finally:
                    self._waiters.remove(fut)
            finally:
                err: BaseException | None = None
                while True:
                    try:
                        await self.acquire()
                        break
                    except _CancelledError as exc:
                        err = exc
                if err is not None:
                    try:
                        raise err
                    finally:
                        err = None  # no reference cycle through the frame
        except BaseException:
            # We may have consumed a notification: hand it on (a spurious wake-up is
            # allowed by the condition-variable contract, a lost one is not).
            self._notify(1)
            raise

    async def wait_for(self, predicate: Callable[[], _T]) -> _T:
        """Wait until ``predicate()`` is true and return its last value."""
        result = predicate()
        while not result:
            await self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters; the caller must hold the lock."""
        if not self.locked():
            raise RuntimeError("cannot notify on un-acquired lock")
        self._notify(n)

    def _notify(self, n: int) -> None:
        """Wake the first ``n`` waiters not already woken."""
        woken = 0
        for fut in self._waiters:
            if woken >= n:
                break
            if not fut.done():
                woken += 1
                fut.set_result(False)

    def notify_all(self) -> None:
        """Wake every waiter; the caller must hold the lock."""
        self.notify(len(self._waiters))


class Semaphore(_HeldWithAsyncWith, LoopBound):
    """A counter of free slots; acquire takes one, release gives one back (FIFO waiters)."""

    _waiters: collections.deque[Future[bool]] | None
    _value: int

    def __init__(self, value: int = 1, **unexpected: object) -> None:
        """Create a semaphore with ``value`` free slots."""
        if unexpected:
            _reject_keywords("Semaphore", unexpected)
        if value < 0:
            raise ValueError("Semaphore initial value must be >= 0")
        self._waiters = None
        self._value = value

    def __repr__(self) -> str:
        """Describe the state: locked, or unlocked with the value; and the waiters."""
        extra = "locked" if self.locked() else f"unlocked, value:{self._value}"
        if self._waiters:
            extra = f"{extra}, waiters:{len(self._waiters)}"
        return _describe(self, extra)

    def locked(self) -> bool:
        """Return True if ``acquire()`` would not succeed at once."""
        waiters = self._waiters
        return self._value == 0 or (waiters is not None and _any_pending(waiters))

    async def acquire(self) -> Literal[True]:
        """Take a slot, waiting in FIFO order behind earlier waiters when none is free."""
        waiters = self._waiters
        if self._value != 0 and (not waiters or not _any_pending(waiters)):
            self._value -= 1
            return True
        if waiters is None:
            waiters = self._waiters = _deque()
        fut: Future[bool] = self._get_loop().create_future()
        waiters.append(fut)
        if _FIFO_FIXES:
            try:
                try:
                    await fut
                finally:
                    waiters.remove(fut)
            except _CancelledError:
                # Granted (the counter was taken for us) but cancelled: give it back.
                if fut.done() and not fut.cancelled():
                    self._value += 1
                raise
            finally:
                # Waiters that queued behind us while slots were free wake now.
                while self._value > 0:
                    if not self._wake_up_next():
                        break
            return True
        try:
            try:
                await fut
            finally:
                waiters.remove(fut)
        except _CancelledError:
            if not fut.cancelled():
                self._value += 1
                self._wake_up_next()
            raise
        if self._value > 0:
            self._wake_up_next()
        return True

    def release(self) -> None:
        """Give a slot back and wake the first waiter, if any."""
        self._value += 1
        self._wake_up_next()

    def _wake_up_next(self) -> bool:
        """Grant a slot to the first waiter not yet woken; tell whether there was one."""
        waiters = self._waiters
        if not waiters:
            return False
        for fut in waiters:
            if not fut.done():
                self._value -= 1
                fut.set_result(True)
                return True
        return False


class BoundedSemaphore(Semaphore):
    """A semaphore whose ``release()`` refuses to exceed the initial value."""

    def __init__(self, value: int = 1, **unexpected: object) -> None:
        """Create a bounded semaphore with ``value`` free slots, also its upper bound."""
        if unexpected:
            _reject_keywords("BoundedSemaphore", unexpected)
        self._bound_value = value
        super().__init__(value)

    def release(self) -> None:
        """Give a slot back; ValueError if that would exceed the initial value."""
        if self._value >= self._bound_value:
            raise ValueError("BoundedSemaphore released too many times")
        super().release()


# Barrier states (asyncio's _BarrierState values, shown by repr).
_FILLING = "filling"
_DRAINING = "draining"
_RESETTING = "resetting"
_BROKEN = "broken"


class Barrier(LoopBound):
    """A barrier for a fixed number of tasks: all wake once the last one arrives."""

    def __init__(self, parties: int, **unexpected: object) -> None:
        """Create a barrier for ``parties`` tasks."""
        if unexpected:
            _reject_keywords("Barrier", unexpected)
        if parties < 1:
            raise ValueError("parties must be > 0")
        self._cond = Condition()  # notified on every state change
        self._parties = parties
        self._state = _FILLING
        self._count = 0  # tasks inside wait()

    def __repr__(self) -> str:
        """Describe the state and, unless broken, how many tasks wait of how many."""
        extra = self._state
        if not self.broken:
            extra += f", waiters:{self.n_waiting}/{self.parties}"
        return _describe(self, extra)

    async def __aenter__(self) -> int:
        """Wait at the barrier; ``async with barrier as index``."""
        return await self.wait()

    async def __aexit__(self, *args: object) -> None:
        """Do nothing."""

    async def wait(self) -> int:
        """Wait until ``parties`` tasks are waiting; return this task's index (0..parties-1)."""
        cond = self._cond
        async with cond:
            await self._block()
            try:
                index = self._count
                self._count += 1
                if index + 1 == self._parties:
                    # The last arrival trips the barrier: everybody drains.
                    self._state = _DRAINING
                    cond.notify_all()
                else:
                    await self._wait()
                return index
            finally:
                self._count -= 1
                self._exit()

    async def _block(self) -> None:
        """Wait while the barrier drains or resets; raise if it is broken."""
        await self._cond.wait_for(lambda: self._state is not _DRAINING and self._state is not _RESETTING)
        if self._state is _BROKEN:
            raise BrokenBarrierError("Barrier aborted")

    async def _wait(self) -> None:
        """Wait for the barrier to trip; raise if it is reset or aborted meanwhile."""
        await self._cond.wait_for(lambda: self._state is not _FILLING)
        if self._state is _BROKEN or self._state is _RESETTING:
            raise BrokenBarrierError("Abort or reset of barrier")

    def _exit(self) -> None:
        """On the last task out, return to filling and wake those blocked on draining."""
        if self._count == 0:
            if self._state is _RESETTING or self._state is _DRAINING:
                self._state = _FILLING
            self._cond.notify_all()

    async def reset(self) -> None:
        """Return the barrier to filling; current waiters get BrokenBarrierError."""
        async with self._cond:
            if self._count > 0:
                if self._state is not _RESETTING:
                    self._state = _RESETTING
            else:
                self._state = _FILLING
            self._cond.notify_all()

    async def abort(self) -> None:
        """Break the barrier: current and future waiters get BrokenBarrierError."""
        async with self._cond:
            self._state = _BROKEN
            self._cond.notify_all()

    @property
    def parties(self) -> int:
        """The number of tasks needed to trip the barrier."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """The number of tasks waiting while the barrier fills."""
        if self._state is _FILLING:
            return self._count
        return 0

    @property
    def broken(self) -> bool:
        """True if the barrier is broken."""
        return self._state is _BROKEN
