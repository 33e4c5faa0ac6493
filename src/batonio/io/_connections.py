"""Stream connections: create_connection, create_unix_connection, connect_accepted_socket."""

from __future__ import annotations

__all__ = ["ConnectionsMixin"]


class ConnectionsMixin:
    """Client-side stream connections on batonio's loop."""
