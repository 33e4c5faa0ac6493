"""``batonio.subprocess``: asyncio's ``asyncio.subprocess`` -- constants, Process, the streams protocol.

``PIPE``, ``STDOUT`` and ``DEVNULL`` are the :mod:`subprocess` module's; ``Process`` and
``create_subprocess_exec``/``_shell`` are batonio's (``batonio.io._process``).
"""

from __future__ import annotations

import subprocess as _subprocess

from .io._process import Process as Process
from .io._process import SubprocessStreamProtocol as SubprocessStreamProtocol
from .io._process import create_subprocess_exec, create_subprocess_shell

__all__ = ["create_subprocess_exec", "create_subprocess_shell"]  # asyncio.subprocess.__all__

PIPE = _subprocess.PIPE
STDOUT = _subprocess.STDOUT
DEVNULL = _subprocess.DEVNULL
