"""Stand-in for Cython's pure-Python-mode decorators when Cython is not installed.

The hot modules do ``try: import cython / except ImportError: from .. import _cython_shim
as cython``; compiled, the real ``cython`` module is a compile-time construct, and with
Cython installed its own shadow module plays this role.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["Py_ssize_t", "cclass", "compiled", "final", "freelist", "locals"]

_T = TypeVar("_T")

#: The interpreted build is never compiled.
compiled = False

#: C integer types used in annotations: plain ints when interpreted.
Py_ssize_t = int


def cclass(cls: _T) -> _T:
    """Leave the class a plain Python class."""
    return cls


def final(obj: _T) -> _T:
    """No effect when interpreted."""
    return obj


def freelist(_size: int) -> Callable[[_T], _T]:
    """No effect when interpreted."""
    return lambda cls: cls


def locals(**_types: Any) -> Callable[[_T], _T]:  # noqa: A001 - Cython's own name
    """No effect when interpreted."""
    return lambda func: func
