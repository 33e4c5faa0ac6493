"""Children that ``multiprocessing`` spawns run on batonio too (``python -m batonio``).

A ``fork`` child inherits ``install()``'s policy with the rest of the process; a ``spawn``
or ``forkserver`` child is a fresh interpreter (``python -c "from multiprocessing.spawn
import spawn_main; ..."``) that knows nothing of batonio.  Both kinds start by unpickling
the *preparation data* the parent sends (``multiprocessing.spawn.get_preparation_data``)
before they import the program's main module or run the target, and ``spawn.prepare``
ignores keys it does not know.  So the parent adds one key whose value, when unpickled,
installs batonio in the child (and passes the same wrapper on to the child's own children).

The value unpickles through ``builtins.exec`` of a two-line import, so a child that cannot
import batonio (an odd ``sys.path``) still starts, on stock asyncio, instead of dying in
the unpickler.
"""

from __future__ import annotations

from typing import Any

__all__ = ["enable_in_child", "enable_spawned_children"]

_KEY = "batonio_install"
_CHILD_SOURCE = (
    "try:\n"
    "    from batonio._compat._spawn import enable_in_child\n"
    "except ImportError:\n"
    "    pass\n"
    "else:\n"
    "    enable_in_child()\n"
)


class _InstallInChild:
    """Unpickles, in the child, into ``exec`` of the import that installs batonio there."""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, (_CHILD_SOURCE,))


def enable_spawned_children() -> None:
    """From now on, spawn and forkserver children call ``batonio.install()`` first."""
    import multiprocessing.spawn as spawn

    current = spawn.get_preparation_data
    if getattr(current, "_batonio_wrapped", False):
        return

    def get_preparation_data(name: str) -> dict[str, Any]:
        data: dict[str, Any] = current(name)
        data[_KEY] = _InstallInChild()
        return data

    get_preparation_data._batonio_wrapped = True  # type: ignore[attr-defined]
    get_preparation_data.__doc__ = current.__doc__
    spawn.get_preparation_data = get_preparation_data


def enable_in_child() -> None:
    """In a spawned child: run on batonio, and so will the children it spawns."""
    from batonio._compat._install import install

    install()
    enable_spawned_children()
