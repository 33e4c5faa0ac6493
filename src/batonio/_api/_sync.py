"""Pick the compiled or the interpreted build of the synchronisation primitives and queues.

``from batonio._api._sync import Lock, Queue, ...`` gives the Cython build (``_locks_c``,
``_queues_c``) unless ``BATONIO_NO_EXTENSIONS=1`` or the build is absent, in which case the
pure-Python modules (``_locks_py``, ``_queues_py``) are used.  Both follow ``asyncio.locks``
and ``asyncio.queues`` of the running Python.
"""

from __future__ import annotations

import sys

from .._extensions import select

_locks = select(__package__, "_locks")
_queues = select(__package__, "_queues")

Barrier = _locks.Barrier
BoundedSemaphore = _locks.BoundedSemaphore
BrokenBarrierError = _locks.BrokenBarrierError
Condition = _locks.Condition
Event = _locks.Event
Lock = _locks.Lock
Semaphore = _locks.Semaphore

LifoQueue = _queues.LifoQueue
PriorityQueue = _queues.PriorityQueue
Queue = _queues.Queue
QueueEmpty = _queues.QueueEmpty
QueueFull = _queues.QueueFull

__all__ = [
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "LifoQueue",
    "Lock",
    "PriorityQueue",
    "Queue",
    "QueueEmpty",
    "QueueFull",
    "Semaphore",
]

if sys.version_info >= (3, 13):
    QueueShutDown = _queues.QueueShutDown
    __all__ += ["QueueShutDown"]
