"""batonio: an independent implementation of Python's asyncio runtime.

``batonio.run(main())`` runs a coroutine on batonio's loop; ``batonio.new_event_loop`` is a
drop-in loop factory for ``asyncio.run``/``asyncio.Runner``; ``batonio.install()`` makes
every new asyncio loop a batonio loop; ``python -m batonio prog.py`` runs an unmodified
asyncio program on batonio.  ``batonio.EXTENSIONS`` says whether the compiled hot path is
active (set ``BATONIO_NO_EXTENSIONS=1`` to force the interpreted one).
"""

from __future__ import annotations

from . import _extensions
from ._core import Future, Handle, Task, TimerHandle
from ._loop import EventLoop, new_event_loop
from ._version import __version__

EXTENSIONS: bool = _extensions.EXTENSIONS

__all__ = [
    "EXTENSIONS",
    "EventLoop",
    "Future",
    "Handle",
    "Task",
    "TimerHandle",
    "__version__",
    "new_event_loop",
]
