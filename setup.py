"""Build script: compiles the hot-path modules with Cython in pure-Python mode.

Each compiled module `X_c` is the same source as `X_py.py` (a symlink), augmented by
`X_c.pxd`.  Without a compiler or Cython, or with BATONIO_NO_EXTENSIONS=1 at build time,
the package installs pure Python and runs interpreted.
"""
from __future__ import annotations

import os
import platform
import sys

from setuptools import setup

HOT_MODULES = [
    "batonio._core._scheduler_c",
    "batonio._core._futures_c",
    "batonio._api._locks_c",
    "batonio._api._queues_c",
    "batonio._api._tasks_c",
    "batonio.io._transport_c",
    "batonio.io._streams_c",
    "batonio.io._tls_c",
    "batonio.io._sockcalls_c",
]


def _extensions() -> list[object]:
    if os.environ.get("BATONIO_NO_EXTENSIONS") or platform.python_implementation() != "CPython":
        return []
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        print("batonio: Cython not available, installing pure Python", file=sys.stderr)
        return []
    exts = []
    for name in HOT_MODULES:
        path = os.path.join("src", *name.split(".")) + ".py"
        if os.path.exists(path):
            exts.append(Extension(name, [path], extra_compile_args=["-O2"]))
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "binding": True,
            "embedsignature": True,
        },
        include_path=["src"],
        quiet=True,
    )


setup(ext_modules=_extensions())
