"""The task utilities as asyncio exports them, from the compiled build when there is one.

``_tasks`` is chosen by :func:`batonio._extensions.select` (``_tasks_c`` unless
``BATONIO_NO_EXTENSIONS=1`` or not built), except for the coroutine functions ``sleep``,
``wait`` and ``wait_for``, always interpreted (see below); timeouts, task groups and the
thread helpers are plain Python and imported as they are.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from .._extensions import select
from ._taskgroups import TaskGroup
from ._threads import run_coroutine_threadsafe, to_thread, wrap_future
from ._timeouts import Timeout, timeout, timeout_at

_tasks = select(__package__, "_tasks")
_native_tasks = importlib.import_module(f"{__package__}._tasks_py")

ALL_COMPLETED: str = _tasks.ALL_COMPLETED
FIRST_COMPLETED: str = _tasks.FIRST_COMPLETED
FIRST_EXCEPTION: str = _tasks.FIRST_EXCEPTION
all_tasks: Any = _tasks.all_tasks
as_completed: Any = _tasks.as_completed
create_task: Any = _tasks.create_task
current_task: Any = _tasks.current_task
ensure_future: Any = _tasks.ensure_future
gather: Any = _tasks.gather
isfuture: Any = _tasks.isfuture
shield: Any = _tasks.shield
# The coroutine functions come from the interpreted build even when the compiled one is
# active: Cython's coroutine type is not ``types.CoroutineType``, so ``inspect.iscoroutine``
# (which libraries use to decide whether to await) refused ``batonio.sleep(1)``, where it
# accepts asyncio's.  Measured by benchmarks/coroutine_kind.py on the compiled loop (3.11,
# CPU s, median of 5): sleep(0) 0.039 -> 0.045 (+16%), sleep(0) in 100 tasks +13%, the
# timer path +3%, wait_for +2%, wait -7%: parity wins over a sub-microsecond per sleep(0).
sleep: Any = _native_tasks.sleep
wait: Any = _native_tasks.wait
wait_for: Any = _native_tasks.wait_for

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "TaskGroup",
    "Timeout",
    "all_tasks",
    "as_completed",
    "create_task",
    "current_task",
    "ensure_future",
    "gather",
    "isfuture",
    "run_coroutine_threadsafe",
    "shield",
    "sleep",
    "timeout",
    "timeout_at",
    "to_thread",
    "wait",
    "wait_for",
    "wrap_future",
]

if sys.version_info >= (3, 12):
    create_eager_task_factory: Any = _tasks.create_eager_task_factory
    eager_task_factory: Any = _tasks.eager_task_factory
    __all__ += ["create_eager_task_factory", "eager_task_factory"]
