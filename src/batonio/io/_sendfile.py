"""``loop.sock_sendfile`` and ``loop.sendfile``: filled by the sendfile work."""

from __future__ import annotations

__all__ = ["SendfileMixin"]


class SendfileMixin:
    """Zero-copy ``os.sendfile`` with asyncio's read-and-send fallback."""
