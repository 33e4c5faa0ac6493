"""Child-exit watching without a thread per child: a pidfd per child in the loop's poller.

Some facts this module is built on (Linux):

- ``pidfd_open(pid)`` gives an fd that polls readable once the process has exited (it is
  then a zombie until reaped).  Opened right after ``fork``/``exec``, it cannot miss an exit:
  a child that exits before we look at it stays a zombie, and its pidfd is readable at once.
- ``waitid(P_PIDFD, fd, WEXITED | WNOHANG)`` reaps exactly that process, never a pid the
  kernel reused; ``waitpid(-1)`` is never called, so children of other code are left alone.
- Other code may reap our child first (``subprocess.run`` in a thread, ``os.waitpid(-1)``, a
  ``Popen.poll()`` on the transport's Popen): ``waitid`` then fails with ECHILD and the exit
  status is lost.  The callback is then told ``None``; the transport reports what Popen
  recorded if it reaped the child, else 255 with asyncio's warning.

Where pidfds are missing (old kernels, seccomp filters) the fallback is SIGCHLD (when the
loop runs in the main thread) plus a backing-off poll timer, each reaping only our own pids
with ``waitpid(pid, WNOHANG)``.  No thread is ever started.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ChildWatch", "child_watch_of", "pidfds_supported", "status_to_returncode"]

ExitCallback = Callable[["int | None"], object]

_HAS_PIDFD = hasattr(os, "pidfd_open") and hasattr(os, "P_PIDFD")
_POLL_FIRST = 0.005
_POLL_MAX = 0.1


def pidfds_supported() -> bool:
    """True when this kernel and Python give pidfds (``os.pidfd_open`` works)."""
    if not _HAS_PIDFD:
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


def status_to_returncode(status: int) -> int:
    """A ``waitpid`` status as a Popen returncode: the exit code, or ``-signal``."""
    return os.waitstatus_to_exitcode(status)


def _waitid_returncode(result: Any) -> int:
    if result.si_code == os.CLD_EXITED:
        return int(result.si_status)
    return -int(result.si_status)  # CLD_KILLED / CLD_DUMPED: killed by this signal


class ChildWatch:
    """Watches one loop's children; calls ``callback(returncode)`` in the loop when each exits."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._use_pidfd = pidfds_supported()
        self._pidfds: dict[int, int] = {}  # pid -> its pidfd, registered for reading
        self._polled: dict[int, ExitCallback] = {}  # pid -> callback, in the fallback
        self._poll_timer: Any = None
        self._poll_delay = _POLL_FIRST
        self._sigchld = False

    def watch(self, pid: int, callback: ExitCallback) -> None:
        """Start watching child ``pid``; ``callback`` gets its returncode (None: reaped elsewhere)."""
        if self._use_pidfd:
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:  # already reaped by someone else
                self._loop.call_soon(callback, None)
                return
            except OSError:
                self._use_pidfd = False  # e.g. a seccomp filter refuses it: fall back for good
            else:
                self._pidfds[pid] = pidfd
                self._loop._add_reader(pidfd, self._pidfd_ready, (pid, pidfd, callback))
                return
        self._polled[pid] = callback
        self._start_fallback()

    def close(self) -> None:
        """Stop watching (the loop closes): close every pidfd, drop the fallback's timer."""
        for pidfd in self._pidfds.values():
            self._loop._remove_reader(pidfd)
            os.close(pidfd)
        self._pidfds.clear()
        self._polled.clear()
        self._stop_fallback()

    # ------------------------------------------------------------------ pidfds
    def _pidfd_ready(self, pid: int, pidfd: int, callback: ExitCallback) -> None:
        try:
            result = os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)
        except ChildProcessError:
            returncode = None  # reaped by other code first
        else:
            if result is None:  # pragma: no cover - a pidfd polls readable only once exited
                return
            returncode = _waitid_returncode(result)
        self._loop._remove_reader(pidfd)
        del self._pidfds[pid]
        os.close(pidfd)
        callback(returncode)

    # ------------------------------------------------------------------ the fallback
    def _start_fallback(self) -> None:
        if not self._sigchld and threading.current_thread() is threading.main_thread():
            handlers = getattr(self._loop, "_signal_handlers", None) or {}
            if signal.SIGCHLD not in handlers:  # never take a SIGCHLD handler of the program's
                try:
                    self._loop.add_signal_handler(signal.SIGCHLD, self._reap_polled)
                    self._sigchld = True
                except (RuntimeError, ValueError):  # pragma: no cover - the timer still runs
                    pass
        self._poll_delay = _POLL_FIRST
        if self._poll_timer is None:
            self._poll_timer = self._loop.call_soon(self._poll)

    def _stop_fallback(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None
        if self._sigchld:
            self._sigchld = False
            if not self._loop.is_closed():
                self._loop.remove_signal_handler(signal.SIGCHLD)

    def _poll(self) -> None:
        self._poll_timer = None
        self._reap_polled()
        if self._polled:
            self._poll_timer = self._loop.call_later(self._poll_delay, self._poll)
            self._poll_delay = min(self._poll_delay * 2, _POLL_MAX)

    def _reap_polled(self) -> None:
        """Reap each of our fallback pids that exited (never ``waitpid(-1)``)."""
        for pid in list(self._polled):
            try:
                reaped, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                returncode = None
            else:
                if reaped == 0:
                    continue
                returncode = status_to_returncode(status)
            callback = self._polled.pop(pid)
            callback(returncode)
        if not self._polled:
            self._stop_fallback()


def child_watch_of(loop: Any) -> ChildWatch:
    """The loop's ChildWatch, made on first use."""
    watch: ChildWatch | None = getattr(loop, "_child_watch", None)
    if watch is None:
        watch = ChildWatch(loop)
        loop._child_watch = watch
    return watch
