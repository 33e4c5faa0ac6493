"""The public event loop: the engine (``_core``) combined with ``asyncio.AbstractEventLoop``.

The compiled core cannot inherit from a Python class, so the public class is assembled
here, as uvloop does, and ``isinstance(loop, asyncio.AbstractEventLoop)`` holds.  Each I/O
concern joins the class as a mixin from ``batonio.io`` (sockets, sendfile, connections,
servers, datagrams, pipes, subprocesses, signals); the engine below never imports them.

The loop keeps ``_transports``, fd -> live transport, so that ``add_reader`` and the
``sock_*`` calls refuse an fd a transport owns, with asyncio's message.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

from ._core._base_loop import BaseLoop, _fileobj_to_fd
from ._debug._loop_mixin import InstrumentsMixin
from ._debug._options import resolve_clock
from .io._connections import ConnectionsMixin
from .io._datagram import DatagramMixin
from .io._pipes import PipesMixin
from .io._sendfile import SendfileMixin
from .io._servers import ServersMixin
from .io._signals import SignalsMixin
from .io._sockets import SocketsMixin
from .io._subprocess import SubprocessMixin
from .io._tls import TLSMixin

__all__ = ["EventLoop", "new_event_loop"]


class EventLoop(  # type: ignore[misc]
    SignalsMixin,
    SocketsMixin,
    SendfileMixin,
    ConnectionsMixin,
    ServersMixin,
    DatagramMixin,
    PipesMixin,
    SubprocessMixin,
    TLSMixin,
    InstrumentsMixin,
    BaseLoop,
    asyncio.AbstractEventLoop,
):
    """batonio's event loop: ``EventLoop(selector=None, *, clock=None, chaos_seed=None)``.

    ``clock`` is a :class:`batonio.VirtualClock` (virtual time, deadlock detection), any
    object with a ``time()`` method, or a function returning the time; ``chaos_seed`` turns
    on chaos scheduling with that seed (see ``batonio._debug``).
    """

    def __init__(
        self, selector: Any = None, *, clock: object = None, chaos_seed: int | None = None
    ) -> None:
        self._init_signals()
        try:
            time_function, virtual = resolve_clock(clock)
        except BaseException:
            self._closed = True  # nothing was opened: __del__ has nothing to report
            raise
        BaseLoop.__init__(self, selector, clock=time_function)
        self._transports: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._unix_server_sockets: dict[Any, int] = {}
        try:
            self._init_instruments(virtual, chaos_seed)
        except BaseException:
            BaseLoop.close(self)  # bad chaos_seed / environment: leave nothing open
            raise

    def close(self) -> None:
        """Close the loop: signal handlers, child watching and the watchdog go first."""
        if not self.is_running() and not self.is_closed():
            watch = getattr(self, "_child_watch", None)
            if watch is not None:
                watch.close()
            self._close_signals()
            self._close_instruments()
        BaseLoop.close(self)

    def _after_fork_in_child(self) -> None:
        """In a forked child: let go of the parent's poller, wake-up fd and signal pipe."""
        BaseLoop._after_fork_in_child(self)
        self._forget_signals_after_fork()

    def _ensure_fd_no_transport(self, fd: Any) -> None:
        """Refuse an fd (or file object) that one of our transports owns, as asyncio does."""
        fileno = _fileobj_to_fd(fd)
        transport = self._transports.get(fileno)
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:  # type: ignore[override]
        """Call ``callback(*args)`` whenever ``fd`` is readable."""
        self._ensure_fd_no_transport(fd)
        BaseLoop.add_reader(self, fd, callback, *args)

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching ``fd`` for reading; True if it was watched."""
        self._ensure_fd_no_transport(fd)
        return BaseLoop.remove_reader(self, fd)  # type: ignore[no-any-return]

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:  # type: ignore[override]
        """Call ``callback(*args)`` whenever ``fd`` is writable."""
        self._ensure_fd_no_transport(fd)
        BaseLoop.add_writer(self, fd, callback, *args)

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching ``fd`` for writing; True if it was watched."""
        self._ensure_fd_no_transport(fd)
        return BaseLoop.remove_writer(self, fd)  # type: ignore[no-any-return]


def new_event_loop(*, clock: object = None, chaos_seed: int | None = None) -> EventLoop:
    """Create a new batonio event loop (``clock=``, ``chaos_seed=``: see EventLoop)."""
    return EventLoop(clock=clock, chaos_seed=chaos_seed)
