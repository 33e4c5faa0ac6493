"""The stream transports (sockets and pipes), compiled or interpreted (see ``batonio._extensions``)."""

from __future__ import annotations

from .._extensions import select

_impl = select(__package__ or "batonio.io", "_transport")

SocketTransport = _impl.SocketTransport
ReadPipeTransport = _impl.ReadPipeTransport
WritePipeTransport = _impl.WritePipeTransport
set_nodelay = _impl.set_nodelay

__all__ = ["ReadPipeTransport", "SocketTransport", "WritePipeTransport", "set_nodelay"]
