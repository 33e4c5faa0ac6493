"""Compatibility layer: batonio's event loop policy and ``install()``.

This is the top of the stack (below only ``batonio.__main__``): it may import the API and the
loop, nothing imports it except the package surface and the ``python -m batonio`` runner.
"""

from __future__ import annotations

from batonio._compat._install import install, is_installed, uninstall
from batonio._compat._policy import EventLoopPolicy

__all__ = ["EventLoopPolicy", "install", "is_installed", "uninstall"]
