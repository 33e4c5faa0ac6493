"""``loop.connect_read_pipe`` / ``loop.connect_write_pipe``: pipes, FIFOs, sockets and ttys.

Follows asyncio's ``base_events.connect_read_pipe``/``connect_write_pipe`` over
``unix_events``' pipe transports: the protocol is made, the transport checks the fd's file
type (ValueError with asyncio's message for a regular file or a directory), sets it
non-blocking, calls ``connection_made`` from the loop, and the call returns once that ran.
The transports are ``ReadPipeTransport`` / ``WritePipeTransport`` of the stream transport
module: the socket transport's compiled read and write paths over read(2)/write(2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._transport import ReadPipeTransport, WritePipeTransport

__all__ = ["PipesMixin"]


def _logger() -> Any:
    from asyncio.log import logger

    return logger


class PipesMixin:
    """Adds asyncio's pipe API to a loop built on batonio's engine."""

    def _make_read_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: dict[str, Any] | None = None
    ) -> Any:
        return ReadPipeTransport(self, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(
        self, pipe: Any, protocol: Any, waiter: Any = None, extra: dict[str, Any] | None = None
    ) -> Any:
        return WritePipeTransport(self, pipe, protocol, waiter, extra)

    async def connect_read_pipe(self, protocol_factory: Callable[[], Any], pipe: Any) -> tuple[Any, Any]:
        """Wrap the read end of ``pipe`` (a file-like object) in a read transport."""
        protocol = protocol_factory()
        waiter = self.create_future()  # type: ignore[attr-defined]
        transport = self._make_read_pipe_transport(pipe, protocol, waiter)
        return await self._pipe_connected(transport, protocol, waiter, "read", pipe)

    async def connect_write_pipe(self, protocol_factory: Callable[[], Any], pipe: Any) -> tuple[Any, Any]:
        """Wrap the write end of ``pipe`` (a file-like object) in a write transport."""
        protocol = protocol_factory()
        waiter = self.create_future()  # type: ignore[attr-defined]
        transport = self._make_write_pipe_transport(pipe, protocol, waiter)
        return await self._pipe_connected(transport, protocol, waiter, "write", pipe)

    async def _pipe_connected(
        self, transport: Any, protocol: Any, waiter: Any, kind: str, pipe: Any
    ) -> tuple[Any, Any]:
        """Wait for connection_made(); a cancelled or failed wait closes the transport."""
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        if self._debug:  # type: ignore[attr-defined]
            _logger().debug("%s pipe %r connected: (%r, %r)", kind, pipe.fileno(), transport, protocol)
        return transport, protocol
