"""Interpreted helpers that must produce native coroutine objects.

``ensure_future(awaitable)`` wraps a non-coroutine awaitable in a coroutine, and asyncio's
users (and tests) see a native ``types.CoroutineType`` there.  A coroutine function in a
Cython-compiled module yields a Cython coroutine instead, so this wrapper lives in a
module that is never compiled.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

__all__ = ["wrap_awaitable"]


async def wrap_awaitable(awaitable: Awaitable[Any]) -> Any:
    """Turn an object with ``__await__`` into a coroutine a task can run."""
    return await awaitable
