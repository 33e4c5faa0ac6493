"""Datagram transports and ``create_datagram_endpoint``: filled by the datagram work."""

from __future__ import annotations

__all__ = ["DatagramMixin"]


class DatagramMixin:
    """``create_datagram_endpoint`` for UDP (IPv4, IPv6) and Unix datagram sockets."""
