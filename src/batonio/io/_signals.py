"""Unix signal handlers on the loop: ``add_signal_handler`` / ``remove_signal_handler``.

Follows asyncio's ``unix_events._UnixSelectorEventLoop``: the C-level handler does nothing
but let Python's ``signal.set_wakeup_fd`` write the signal number to a non-blocking pipe
the loop watches; reading it queues the registered handle, so user callbacks run in the
loop, never inside the signal handler.  The pipe is separate from the loop's eventfd
because the wake-up fd receives single bytes.  Only the main thread may install handlers
(Python's rule), which surfaces as RuntimeError, as in asyncio.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable
from typing import Any

__all__ = ["SignalsMixin"]


def _ignore_signal(signum: int, frame: Any) -> None:
    """The Python-level handler: the wake-up fd does the real work."""


class SignalsMixin:
    """Adds asyncio's signal-handler API to a loop built on batonio's engine."""

    _signal_handlers: dict[int, Any]
    _signal_pipe: tuple[int, int] | None

    def _check_signal(self, sig: Any) -> None:
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in signal.valid_signals():
            raise ValueError(f"invalid signal number {sig}")

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        """Run ``callback(*args)`` in the loop whenever signal ``sig`` arrives."""
        import asyncio

        from .._core import Handle

        if asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()  # type: ignore[attr-defined]
        if not hasattr(self, "_signal_handlers"):
            self._signal_handlers = {}
            self._signal_pipe = None
        read_fd = self._open_signal_pipe()
        try:
            signal.set_wakeup_fd(self._signal_pipe[1])  # type: ignore[index]
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc)) from None
        del read_fd
        self._signal_handlers[sig] = Handle(callback, args, self, None)
        try:
            signal.signal(sig, _ignore_signal)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers:
                self._release_signal_wakeup()
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise

    def remove_signal_handler(self, sig: int) -> bool:
        """Restore the default disposition of ``sig``; True if a handler was removed."""
        self._check_signal(sig)
        handlers = getattr(self, "_signal_handlers", None)
        if not handlers or sig not in handlers:
            return False
        handlers.pop(sig).cancel()
        default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, default)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise
        if not handlers:
            self._release_signal_wakeup()
        return True

    def _open_signal_pipe(self) -> int:
        if self._signal_pipe is None:
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            os.set_blocking(write_fd, False)
            self._signal_pipe = (read_fd, write_fd)
            self._add_reader(read_fd, self._read_signals, ())  # type: ignore[attr-defined]
        return self._signal_pipe[0]

    def _read_signals(self) -> None:
        """Queue the handler of every signal number the wake-up fd delivered."""
        assert self._signal_pipe is not None
        try:
            data = os.read(self._signal_pipe[0], 4096)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            handle = self._signal_handlers.get(signum)
            if handle is None:
                continue
            if handle._cancelled:
                self.remove_signal_handler(signum)
            else:
                self._ready.append(handle)  # type: ignore[attr-defined]

    def _release_signal_wakeup(self) -> None:
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError):
            pass  # not the main thread, or the interpreter is shutting down

    def _close_signals(self) -> None:
        """Remove every handler and close the pipe (called by close())."""
        for sig in list(getattr(self, "_signal_handlers", ())):
            self.remove_signal_handler(sig)
        pipe = getattr(self, "_signal_pipe", None)
        if pipe is not None:
            self._signal_pipe = None
            self._remove_reader(pipe[0])  # type: ignore[attr-defined]
            os.close(pipe[0])
            os.close(pipe[1])
