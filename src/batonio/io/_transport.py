"""The stream socket transport, compiled or interpreted (see ``batonio._extensions``)."""

from __future__ import annotations

from .._extensions import select

_impl = select(__package__ or "batonio.io", "_transport")

SocketTransport = _impl.SocketTransport
set_nodelay = _impl.set_nodelay

__all__ = ["SocketTransport", "set_nodelay"]
