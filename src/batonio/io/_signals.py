"""Unix signal handlers on the loop: ``add_signal_handler`` / ``remove_signal_handler``.

Follows asyncio's ``unix_events._UnixSelectorEventLoop``: the C-level handler does nothing
but let Python's ``signal.set_wakeup_fd`` write the signal number to a non-blocking pipe
the loop watches; reading it queues the registered handle, so user callbacks run in the
loop, never inside the signal handler.  The pipe is separate from the loop's eventfd
because the wake-up fd receives single bytes.  Only the main thread may install handlers
(Python's rule), which surfaces as RuntimeError, as in asyncio.

The ``signal`` and ``sys`` modules are looked up through ``asyncio.unix_events`` on each
call, as the loop's logger is looked up through ``asyncio.base_events``: code (and CPython's
own tests) that patches them there sees batonio's loop follow, as asyncio's does.

After ``os.fork`` the child must not receive the parent's signals through the inherited
pipe, nor write its own into the parent's: :meth:`SignalsMixin._forget_signals_after_fork`
drops the child's copy (asyncio 3.12+ resets the wake-up fd in the child too, gh-99949).
"""

from __future__ import annotations

import asyncio.unix_events as _unix_events
import errno
import os
import warnings
from collections.abc import Callable
from typing import Any

from .._core import Handle

__all__ = ["SignalsMixin"]


def _logger() -> Any:
    """asyncio's logger, as unix_events sees it (patchable there)."""
    return _unix_events.logger  # type: ignore[attr-defined]


def _signal() -> Any:
    """The signal module, as asyncio's loop sees it (patchable in asyncio.unix_events)."""
    return _unix_events.signal  # type: ignore[attr-defined]


def _sys() -> Any:
    """The sys module, as asyncio's loop sees it (patchable in asyncio.unix_events)."""
    return _unix_events.sys  # type: ignore[attr-defined]


def _ignore_signal(signum: int, frame: Any) -> None:
    """The Python-level handler: the wake-up fd does the real work."""


class SignalsMixin:
    """Adds asyncio's signal-handler API to a loop built on batonio's engine."""

    _signal_handlers: dict[int, Any]
    _signal_pipe: tuple[int, int] | None

    def _init_signals(self) -> None:
        """Start with no handler and no pipe (the pipe opens with the first handler)."""
        self._signal_handlers = {}
        self._signal_pipe = None

    def _check_signal(self, sig: Any) -> None:
        """Reject a signal that is not an int or not a valid signal number."""
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in _signal().valid_signals():
            raise ValueError(f"invalid signal number {sig}")

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        """Run ``callback(*args)`` in the loop whenever signal ``sig`` arrives."""
        import asyncio

        if asyncio.iscoroutine(callback) or asyncio.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()  # type: ignore[attr-defined]
        signal = _signal()
        write_fd = self._open_signal_pipe()
        try:
            # Raises ValueError outside the main thread: a loop running in another thread
            # cannot take the process's signals.
            signal.set_wakeup_fd(write_fd)
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc)) from None
        self._signal_handlers[sig] = Handle(callback, args, self, None)
        try:
            signal.signal(sig, _ignore_signal)
            signal.siginterrupt(sig, False)  # SA_RESTART: fewer EINTRs for everyone else
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
        handle = self._signal_handlers.pop(sig, None)
        if handle is None:
            return False
        signal = _signal()
        default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, default)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise
        if not self._signal_handlers:
            self._release_signal_wakeup()
        return True

    def _handle_signal(self, sig: int) -> None:
        """A signal arrived: queue its handler (a cancelled one is removed instead)."""
        handle = self._signal_handlers.get(sig)
        if handle is None:
            return
        if handle._cancelled:
            self.remove_signal_handler(sig)
        else:
            self._ready.append(handle)  # type: ignore[attr-defined]

    def _open_signal_pipe(self) -> int:
        """The write end of the pipe the wake-up fd writes to (created on first use)."""
        if self._signal_pipe is None:
            read_fd, write_fd = os.pipe()
            os.set_blocking(read_fd, False)
            os.set_blocking(write_fd, False)
            self._signal_pipe = (read_fd, write_fd)
            self._add_reader(read_fd, self._read_signals, ())  # type: ignore[attr-defined]
        return self._signal_pipe[1]

    def _read_signals(self) -> None:
        """Handle every signal number the wake-up fd delivered."""
        if self._signal_pipe is None:
            return
        try:
            data = os.read(self._signal_pipe[0], 4096)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            self._handle_signal(signum)

    def _release_signal_wakeup(self) -> None:
        """Stop the wake-up fd (the last handler went); log a failure as asyncio does."""
        try:
            _signal().set_wakeup_fd(-1)
        except (ValueError, OSError) as exc:
            _logger().info("set_wakeup_fd(-1) failed: %s", exc)

    def _close_signals(self) -> None:
        """Remove every handler and close the pipe (called by close()).

        During interpreter shutdown the handlers are dropped without touching the signal
        module, with asyncio's ResourceWarning.
        """
        if not _sys().is_finalizing():
            for sig in list(self._signal_handlers):
                self.remove_signal_handler(sig)
        elif self._signal_handlers:
            warnings.warn(
                f"Closing the loop {self!r} on interpreter shutdown stage, "
                "skipping signal handlers removal",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )
            self._signal_handlers.clear()
        pipe = self._signal_pipe
        if pipe is not None:
            self._signal_pipe = None
            self._remove_reader(pipe[0])  # type: ignore[attr-defined]
            os.close(pipe[0])
            os.close(pipe[1])

    def _forget_signals_after_fork(self) -> None:
        """In a forked child: close the child's copy of the pipe; signals stay the child's."""
        pipe = self._signal_pipe
        if pipe is None:
            return
        self._signal_pipe = None
        try:
            _signal().set_wakeup_fd(-1)
        except (ValueError, OSError):
            pass  # forked from a thread other than the main one: no wake-up fd to reset
        for fd in pipe:
            try:
                os.close(fd)
            except OSError:
                pass
