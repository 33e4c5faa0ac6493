"""The stream transports (sockets and pipes), compiled or interpreted (see ``batonio._extensions``)."""

from __future__ import annotations

from .._extensions import select

_impl = select(__package__ or "batonio.io", "_transport")

SocketTransport = _impl.SocketTransport
ReadPipeTransport = _impl.ReadPipeTransport
WritePipeTransport = _impl.WritePipeTransport
set_nodelay = _impl.set_nodelay
read_buffer_of = _impl._read_buffer_of

__all__ = ["ReadPipeTransport", "SocketTransport", "WritePipeTransport", "read_buffer_of", "set_nodelay"]
