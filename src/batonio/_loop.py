"""The public event loop: the engine (``_core``) combined with ``asyncio.AbstractEventLoop``.

The compiled core cannot inherit from a Python class, so the public class is assembled
here, as uvloop does, and ``isinstance(loop, asyncio.AbstractEventLoop)`` holds.  I/O
methods (transports, servers, subprocesses, signals) join this class from ``batonio.io``
as they are built; until then the abstract methods raise NotImplementedError.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from ._core._base_loop import BaseLoop
from .io._signals import SignalsMixin

__all__ = ["EventLoop", "new_event_loop"]


class EventLoop(SignalsMixin, BaseLoop, asyncio.AbstractEventLoop):  # type: ignore[misc]
    """batonio's event loop: ``EventLoop(selector=None, *, clock=None)``."""

    def close(self) -> None:
        """Close the loop, removing its signal handlers first."""
        if not self.is_running() and not self.is_closed():
            self._close_signals()
        BaseLoop.close(self)

    async def getaddrinfo(
        self,
        host: Any,
        port: Any,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[Any]:
        """Resolve host and port in the default executor (socket.getaddrinfo)."""
        return await self.run_in_executor(  # type: ignore[no-any-return]
            None, socket.getaddrinfo, host, port, family, type, proto, flags
        )

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> tuple[str, str]:
        """Reverse-resolve an address in the default executor (socket.getnameinfo)."""
        return await self.run_in_executor(None, socket.getnameinfo, sockaddr, flags)  # type: ignore[no-any-return]


def new_event_loop() -> EventLoop:
    """Create a new batonio event loop."""
    return EventLoop()
