"""``batonio.subprocess``: the constants asyncio's docs spell ``asyncio.subprocess.PIPE``.

The process API itself (``create_subprocess_exec``/``_shell``, ``Process``) arrives with
the subprocess transport; see ``batonio.MISSING``.
"""

from __future__ import annotations

import subprocess as _subprocess

__all__ = ["DEVNULL", "PIPE", "STDOUT"]

PIPE = _subprocess.PIPE
STDOUT = _subprocess.STDOUT
DEVNULL = _subprocess.DEVNULL
