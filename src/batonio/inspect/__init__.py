"""Looking at a running batonio program: the async call graph, and ``ps``/``pstree``.

``capture_call_graph``/``format_call_graph``/``print_call_graph`` (also at ``batonio.``)
are CPython 3.14's ``asyncio.graph`` on 3.11-3.13.  ``enable()`` opens the control socket
that ``python -m batonio ps PID`` and ``pstree PID`` read (off unless asked for).
"""

from __future__ import annotations

import sys

if sys.version_info >= (3, 14):
    from asyncio import (  # type: ignore[attr-defined]
        FrameCallGraphEntry,
        FutureCallGraph,
        capture_call_graph,
        format_call_graph,
        future_add_to_awaited_by,
        future_discard_from_awaited_by,
        print_call_graph,
    )
else:
    from ._graph import (
        FrameCallGraphEntry,
        FutureCallGraph,
        capture_call_graph,
        format_call_graph,
        future_add_to_awaited_by,
        future_discard_from_awaited_by,
        print_call_graph,
    )

from ._server import disable, enable, is_enabled, socket_path

__all__ = [
    "FrameCallGraphEntry",
    "FutureCallGraph",
    "capture_call_graph",
    "disable",
    "enable",
    "format_call_graph",
    "future_add_to_awaited_by",
    "future_discard_from_awaited_by",
    "is_enabled",
    "print_call_graph",
    "socket_path",
]


def enable_from_environment(value: str | None) -> None:
    """Act on ``BATONIO_INSPECT``: "1" opens the socket, "" or "0" leave it off."""
    if value in (None, "", "0"):
        return
    if value != "1":
        raise ValueError(f"BATONIO_INSPECT must be 1 (on) or 0 (off), not {value!r}")
    enable()
