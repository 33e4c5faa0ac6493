"""Choose between the compiled and the interpreted build of each hot-path module.

Every hot module has one source, ``X_py.py``; the build compiles the same file (through the
``X_c.py`` symlink and the augmenting ``X_c.pxd``) into the extension ``X_c``.  At import,
:func:`select` returns the compiled module unless ``BATONIO_NO_EXTENSIONS`` is set, the
interpreter is not CPython, or the extension was not built; :data:`EXTENSIONS` then says
whether every hot module runs compiled.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType

__all__ = ["EXTENSIONS", "NO_EXTENSIONS", "select"]

NO_EXTENSIONS: bool = bool(os.environ.get("BATONIO_NO_EXTENSIONS")) or (
    sys.implementation.name != "cpython"
)

#: True while every module chosen through :func:`select` is the compiled one.
EXTENSIONS: bool = not NO_EXTENSIONS


def select(package: str, stem: str) -> ModuleType:
    """Import ``package.stem_c`` when compiled extensions are allowed and built, else ``stem_py``."""
    global EXTENSIONS
    if not NO_EXTENSIONS:
        if _is_built(f"{package}.{stem}_c"):
            return importlib.import_module(f"{package}.{stem}_c")
        EXTENSIONS = False
    return importlib.import_module(f"{package}.{stem}_py")


def _is_built(name: str) -> bool:
    """Tell a built extension from the ``_c.py`` symlink that only feeds the compiler."""
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    return origin is not None and not origin.endswith(".py")
