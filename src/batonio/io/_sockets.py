"""The loop's low-level socket API (``sock_*``) and name resolution: filled by the sockets work."""

from __future__ import annotations

__all__ = ["SocketsMixin"]


class SocketsMixin:
    """``sock_*`` coroutines, ``getaddrinfo``/``getnameinfo`` and ``_ensure_resolved``."""
