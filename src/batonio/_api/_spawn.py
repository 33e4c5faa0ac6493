"""Creating a task on a given loop with a name and a context, per Python version.

``loop.create_task`` takes ``name`` and ``context`` on every supported version, but a task
factory installed before 3.13 may not accept ``name``; asyncio then sets the name after
creation.  ``create_task`` and ``TaskGroup.create_task`` both go through here.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import Any

__all__ = ["spawn_task"]

_PY313 = sys.version_info >= (3, 13)


def spawn_task(loop: Any, coro: Coroutine[Any, Any, Any], name: Any, context: Any) -> Any:
    """Create a task of ``coro`` on ``loop``, named ``name``, running in ``context``."""
    if _PY313:
        if context is None:
            return loop.create_task(coro, name=name)
        return loop.create_task(coro, name=name, context=context)
    if context is None:
        task = loop.create_task(coro)
    else:
        task = loop.create_task(coro, context=context)
    if name is not None:
        task.set_name(name)
    return task
