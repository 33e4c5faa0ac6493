"""Pollers: the loop's one window on the operating system's readiness notification.

A poller knows file descriptors and two event bits (``READ``, ``WRITE``, which are epoll's
EPOLLIN and EPOLLOUT); the loop owns the callbacks.  The interface is four methods, so an
io_uring or kqueue poller can be added without touching the loop:

- ``modify(fd, mask)`` — watch ``fd`` for ``mask``; a zero mask stops watching it.
- ``poll(timeout)`` — wait up to ``timeout`` seconds (negative: forever) and return
  ``[(fd, mask), ...]``; error and hang-up bits wake both directions.
- ``close()`` and ``fileno()``.

Some facts about epoll that shape ``EpollPoller``: an fd is watched, not a file, so closing
an fd without unregistering it leaves a stale entry only until the kernel drops the last
reference; ``EPOLL_CTL_MOD`` on an unknown fd fails with ENOENT, hence the registered set;
``epoll_wait`` timeouts are in milliseconds, so sub-millisecond waits are rounded up rather
than spun.  ``SelectorPoller`` wraps any ``selectors.BaseSelector`` — the fallback where
epoll is missing, and what ``EventLoop(selector)`` uses.
"""

from __future__ import annotations

import math
import select
import selectors
from typing import Protocol

__all__ = ["ERROR", "READ", "WRITE", "EpollPoller", "Poller", "SelectorPoller", "default_poller"]

#: Event bits: epoll's EPOLLIN and EPOLLOUT; ERROR (EPOLLERR | EPOLLHUP) wakes both directions.
READ = 0x001
WRITE = 0x004
ERROR = 0x008 | 0x010


class Poller(Protocol):
    """The interface the loop uses to wait for file-descriptor readiness."""

    def modify(self, fd: int, mask: int) -> None:
        """Watch ``fd`` for ``mask`` (READ|WRITE); 0 stops watching it."""

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        """Wait for readiness (negative timeout: forever); return ``[(fd, mask)]``."""

    def close(self) -> None:
        """Release the OS resources."""

    def fileno(self) -> int:
        """The poller's own fd, or -1."""


class EpollPoller:
    """Linux epoll, level-triggered."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._registered: dict[int, int] = {}

    def modify(self, fd: int, mask: int) -> None:
        """Watch ``fd`` for ``mask`` (READ|WRITE); 0 stops watching it."""
        current = self._registered.get(fd)
        if mask == 0:
            if current is not None:
                del self._registered[fd]
                try:
                    self._epoll.unregister(fd)
                except OSError:
                    pass  # already closed: the kernel dropped it
            return
        try:
            if current is None:
                self._epoll.register(fd, mask)
            elif current != mask:
                self._epoll.modify(fd, mask)
        except OSError:
            # The kernel refused: the fd was closed behind our back (EBADF), or closed and
            # its number reused (ENOENT: epoll dropped the old file).  Forget it, as asyncio's
            # selectors drop a key whose modify failed, so that later calls for this number
            # start afresh instead of failing on our stale record.
            self._registered.pop(fd, None)
            raise
        self._registered[fd] = mask

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        """Wait for readiness (negative timeout: forever); return ``[(fd, mask)]``."""
        if timeout > 0:
            timeout = math.ceil(timeout * 1e3) * 1e-3
        try:
            return self._epoll.poll(timeout, max(len(self._registered), 1))
        except InterruptedError:
            return []

    def close(self) -> None:
        """Release the epoll fd."""
        self._registered.clear()
        self._epoll.close()

    def fileno(self) -> int:
        """The epoll fd."""
        return self._epoll.fileno()

    @property
    def direct_epoll_fd(self) -> int:
        """The epoll fd for a caller that runs epoll_wait itself (the compiled loop core)."""
        return self._epoll.fileno()


class SelectorPoller:
    """Any ``selectors`` selector behind the poller interface."""

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        self.selector = selector if selector is not None else selectors.DefaultSelector()

    def modify(self, fd: int, mask: int) -> None:
        """Watch ``fd`` for ``mask`` (READ|WRITE); 0 stops watching it."""
        events = (selectors.EVENT_READ if mask & READ else 0) | (
            selectors.EVENT_WRITE if mask & WRITE else 0
        )
        try:
            key = self.selector.get_key(fd)
        except KeyError:
            if events:
                self.selector.register(fd, events)
            return
        if not events:
            self.selector.unregister(fd)
        elif key.events != events:
            self.selector.modify(fd, events)

    def poll(self, timeout: float) -> list[tuple[int, int]]:
        """Wait for readiness (negative timeout: forever); return ``[(fd, mask)]``."""
        try:
            ready = self.selector.select(None if timeout < 0 else timeout)
        except InterruptedError:
            return []
        return [
            (
                key.fd,
                (READ if events & selectors.EVENT_READ else 0)
                | (WRITE if events & selectors.EVENT_WRITE else 0),
            )
            for key, events in ready
        ]

    def close(self) -> None:
        """Close the selector."""
        self.selector.close()

    def fileno(self) -> int:
        """The selector's fd, or -1."""
        fileno = getattr(self.selector, "fileno", None)
        return fileno() if fileno is not None else -1


def default_poller() -> Poller:
    """epoll where the OS has it, else the best ``selectors`` selector."""
    if hasattr(select, "epoll"):
        return EpollPoller()
    return SelectorPoller()
