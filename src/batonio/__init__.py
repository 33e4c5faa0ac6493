"""batonio: an independent implementation of Python's asyncio runtime.

``batonio.run(main())`` runs a coroutine on batonio's loop; ``batonio.new_event_loop`` is a
drop-in loop factory for ``asyncio.run``/``asyncio.Runner``; ``batonio.install()`` makes
every new asyncio loop a batonio loop; ``python -m batonio prog.py`` runs an unmodified
asyncio program on batonio; ``import batonio as asyncio`` works for programs that use the
public asyncio names batonio provides.  ``batonio.EXTENSIONS`` says whether the compiled
hot path is active (``BATONIO_NO_EXTENSIONS=1`` forces the interpreted one).

Exceptions, the Protocol/Transport base classes and the abstract loop/policy/server
classes are asyncio's own objects, on purpose: code that catches ``asyncio.CancelledError``
or subclasses ``asyncio.Protocol`` works unchanged.  :data:`MISSING` lists the names of
``asyncio.__all__`` that batonio does not provide (none since subprocesses arrived).
"""

from __future__ import annotations

import asyncio as _asyncio
import os as _os
import sys as _sys

from . import _extensions, subprocess
from ._api._loops import (
    _get_running_loop,
    _set_running_loop,
    get_event_loop,
    get_event_loop_policy,
    get_running_loop,
    set_event_loop,
    set_event_loop_policy,
)
from ._api._runners import Runner, run
from ._api._sync import (
    Barrier,
    BoundedSemaphore,
    Condition,
    Event,
    LifoQueue,
    Lock,
    PriorityQueue,
    Queue,
    Semaphore,
)
from ._api._taskutils import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    TaskGroup,
    Timeout,
    all_tasks,
    as_completed,
    create_task,
    current_task,
    ensure_future,
    gather,
    isfuture,
    run_coroutine_threadsafe,
    shield,
    sleep,
    timeout,
    timeout_at,
    to_thread,
    wait,
    wait_for,
    wrap_future,
)
from ._compat import EventLoopPolicy, install, is_installed, uninstall
from ._core import Future, Handle, Task, TimerHandle
from ._debug import DeadlockError, VirtualClock
from ._loop import EventLoop, new_event_loop
from ._version import __version__
from .inspect import (
    FrameCallGraphEntry,
    FutureCallGraph,
    capture_call_graph,
    format_call_graph,
    future_add_to_awaited_by,
    future_discard_from_awaited_by,
    print_call_graph,
)
from .io._servers import Server
from .io._streams import (
    StreamReader,
    StreamReaderProtocol,
    StreamWriter,
    open_connection,
    open_unix_connection,
    start_server,
    start_unix_server,
)
from .subprocess import create_subprocess_exec, create_subprocess_shell

#: True when the compiled (Cython) hot path is running.
EXTENSIONS: bool = _extensions.EXTENSIONS

SelectorEventLoop = EventLoop
DefaultEventLoopPolicy = EventLoopPolicy

# asyncio's own objects, reused for interop: exception classes, the abstract base classes
# of protocols, transports, loops, policies and servers, the coroutine predicates, the
# child watchers (until subprocesses arrive) and the task registries, which must be shared.
_FROM_ASYNCIO = (
    "CancelledError",
    "InvalidStateError",
    "TimeoutError",
    "IncompleteReadError",
    "LimitOverrunError",
    "SendfileNotAvailableError",
    "BrokenBarrierError",
    "QueueEmpty",
    "QueueFull",
    "QueueShutDown",
    "BaseProtocol",
    "Protocol",
    "DatagramProtocol",
    "SubprocessProtocol",
    "BufferedProtocol",
    "BaseTransport",
    "ReadTransport",
    "WriteTransport",
    "Transport",
    "DatagramTransport",
    "SubprocessTransport",
    "AbstractEventLoop",
    # asyncio's partial loop implementation, for code that builds its own loop on it (and
    # tests that instantiate it with mocked internals); batonio's loop is EventLoop
    "BaseEventLoop",
    "AbstractEventLoopPolicy",
    "AbstractServer",
    "iscoroutine",
    "iscoroutinefunction",
    "AbstractChildWatcher",
    "SafeChildWatcher",
    "FastChildWatcher",
    "PidfdChildWatcher",
    "MultiLoopChildWatcher",
    "ThreadedChildWatcher",
    "get_child_watcher",
    "set_child_watcher",
    "_register_task",
    "_unregister_task",
    "_enter_task",
    "_leave_task",
)
for _name in _FROM_ASYNCIO:
    if hasattr(_asyncio, _name):
        globals()[_name] = getattr(_asyncio, _name)

if _sys.version_info >= (3, 12):
    from ._api._taskutils import (  # type: ignore[attr-defined]
        create_eager_task_factory,
        eager_task_factory,
    )
if _sys.version_info >= (3, 13):
    from ._api._sync import QueueShutDown  # type: ignore[attr-defined]

    globals()["EventLoop"] = EventLoop

_BATONIO_ONLY = [
    "DeadlockError",
    "EXTENSIONS",
    "EventLoop",
    "EventLoopPolicy",
    # asyncio's since 3.14 (asyncio.graph); batonio's on 3.11-3.13
    "FrameCallGraphEntry",
    "FutureCallGraph",
    "capture_call_graph",
    "format_call_graph",
    "future_add_to_awaited_by",
    "future_discard_from_awaited_by",
    "print_call_graph",
    "MISSING",
    "__version__",
    "install",
    "is_installed",
    "uninstall",
    "VirtualClock",
]

#: Names of ``asyncio.__all__`` that batonio does not provide yet.
MISSING: tuple[str, ...] = tuple(
    sorted(name for name in _asyncio.__all__ if name not in globals())
)

__all__ = sorted(
    {name for name in _asyncio.__all__ if name in globals()} | {"TaskGroup", *_BATONIO_ONLY}
)

del _name

# BATONIO_INSPECT=1: this process answers `python -m batonio ps/pstree PID` (off by default).
_inspect_env = _os.environ.get("BATONIO_INSPECT")
if _inspect_env:
    from .inspect import enable_from_environment as _enable_inspect

    _enable_inspect(_inspect_env)
del _inspect_env

# `pytest -p batonio` where the pytest11 entry point is not installed (a source checkout on
# PYTHONPATH) registers this package itself as the plugin: it then carries the hooks.
if "pytest" in _sys.modules:
    from .pytest_plugin import *  # noqa: F403
