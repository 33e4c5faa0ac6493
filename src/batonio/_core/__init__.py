"""The engine: handles, scheduler, pollers, futures and tasks, and the base loop.

What belongs here is what every asyncio program passes through on every iteration, and
the loop machinery around it (exception handler, debug mode, executors, async generators).
What is built on top — the asyncio API, I/O transports, the policy — lives in sibling
packages and reaches the engine only through the loop's public methods.
"""

from __future__ import annotations

from .._extensions import select

_scheduler = select(__name__, "_scheduler")
_futures = select(__name__, "_futures")
_futures.bind_loop_core(_scheduler.LoopCore, _scheduler.Handle)

Handle = _scheduler.Handle
TimerHandle = _scheduler.TimerHandle
LoopCore = _scheduler.LoopCore
Future = _futures.Future
Task = _futures.Task
check_callback = _scheduler._check_callback
create_future = _futures.create_future
new_task = _futures.new_task

__all__ = ["Future", "Handle", "LoopCore", "Task", "TimerHandle", "check_callback", "create_future", "new_task"]
