"""What the conformance child swaps into stdlib asyncio before a CPython test module loads.

Three targets:

* ``batonio`` -- the real thing: every loop the tests create is a ``batonio.EventLoop``;
  batonio's ``Future``/``Task`` (and task/loop registries when batonio has its own) become one
  more parametrisation of the Py/C test classes; with ``--api`` the public names batonio
  implements itself replace asyncio's.
* ``asyncio`` -- a stand-in that plays batonio's part with stdlib pieces (a renamed copy of the
  selector loop class, the pure-Python ``_PyFuture``/``_PyTask``...).  It exercises every
  mechanism of the harness, and its pass counts must equal stock: that is how the harness
  itself is tested.
* ``stock`` -- nothing is replaced: the baseline.

Invariant: all patching happens in the child process, before the test module is imported, and
is never undone (one process per module).
"""

from __future__ import annotations

import asyncio
import asyncio.events
import asyncio.futures
import asyncio.tasks
import asyncio.unix_events
import sys
from types import ModuleType
from typing import Any

__all__ = ["PY_IMPLS", "LoopCounter", "Target", "load_target"]

# The pure-Python implementations CPython's tests parametrise over, and the name under which
# batonio (or the stand-in) offers its own: (stdlib module, Py attribute, implementation name).
PY_IMPLS: list[tuple[ModuleType, str, str]] = [
    (asyncio.futures, "_PyFuture", "Future"),
    (asyncio.tasks, "_PyTask", "Task"),
    (asyncio.tasks, "_py_register_task", "_register_task"),
    (asyncio.tasks, "_py_unregister_task", "_unregister_task"),
    (asyncio.tasks, "_py_enter_task", "_enter_task"),
    (asyncio.tasks, "_py_leave_task", "_leave_task"),
    (asyncio.tasks, "_py_swap_current_task", "_swap_current_task"),
    (asyncio.tasks, "_py_register_eager_task", "_register_eager_task"),
    (asyncio.tasks, "_py_unregister_eager_task", "_unregister_eager_task"),
    (asyncio.tasks, "_py_current_task", "current_task"),
    (asyncio.tasks, "_py_all_tasks", "all_tasks"),
    (asyncio.events, "_py__get_running_loop", "_get_running_loop"),
    (asyncio.events, "_py__set_running_loop", "_set_running_loop"),
    (asyncio.events, "_py_get_running_loop", "get_running_loop"),
    (asyncio.events, "_py_get_event_loop", "get_event_loop"),
]


class LoopCounter:
    """How many loops of the target class were created in this process."""

    count = 0


class Target:
    """One thing the tests run against: its loop class, its implementations, its API."""

    def __init__(self, name: str, loop_cls: type | None, impls: dict[str, Any],
                 api: dict[str, Any], extensions: bool | None) -> None:
        self.name = name
        self.loop_cls = loop_cls
        self.impls = impls          # implementation name -> object, for class generation
        self.api = api              # asyncio.__all__ name -> object, for --api
        self.extensions = extensions
        self.patched_api: list[str] = []

    # -- loops ---------------------------------------------------------------------------------
    def install_loops(self) -> None:
        """Make every loop created through asyncio's public entry points one of ours."""
        if self.loop_cls is None:
            return
        loop_cls = _counting(self.loop_cls)
        self.loop_cls = loop_cls
        stock_policy = asyncio.unix_events._UnixDefaultEventLoopPolicy
        # The stock default policy creates its loops through ``_loop_factory``: pointing it at
        # our class covers asyncio.new_event_loop(), asyncio.run(), asyncio.Runner and
        # set_event_loop_policy(None) at once, and keeps the class tests check with
        # isinstance().  asyncio.new_event_loop itself is left alone on purpose: it asks the
        # current policy, so tests that install their own policy keep theirs.
        stock_policy._loop_factory = loop_cls
        policy = type("DefaultEventLoopPolicy", (stock_policy,), {"_loop_factory": loop_cls,
                                                                  "__module__": __name__})
        for module in (asyncio, asyncio.unix_events):
            module.SelectorEventLoop = loop_cls  # type: ignore[attr-defined]
            module.DefaultEventLoopPolicy = policy  # type: ignore[attr-defined]
            if sys.version_info >= (3, 13):
                module.EventLoop = loop_cls  # type: ignore[attr-defined]
        asyncio.events.set_event_loop_policy(None)

    # -- public API (--api) --------------------------------------------------------------------
    def install_api(self) -> None:
        """Replace each asyncio public name the target implements itself."""
        for name, obj in sorted(self.api.items()):
            setattr(asyncio, name, obj)
            self.patched_api.append(name)

    def patch_module_globals(self, module: ModuleType) -> None:
        """Rebind names a test module imported with ``from asyncio import X`` before --api."""
        stock = {id(obj): name for name, obj in _STOCK_API.items()}
        for key, value in list(vars(module).items()):
            name = stock.get(id(value))
            if name is not None and name in self.api:
                setattr(module, key, self.api[name])


_STOCK_API: dict[str, Any] = {name: getattr(asyncio, name) for name in asyncio.__all__
                              if hasattr(asyncio, name)}


def _counting(cls: type) -> type:
    """Count every instance of ``cls``: wrap its ``__init__`` in place, else subclass it."""
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        LoopCounter.count += 1
        original(self, *args, **kwargs)

    try:
        cls.__init__ = __init__  # type: ignore[misc]
        return cls
    except (TypeError, AttributeError):
        return type(cls.__name__, (cls,), {"__init__": __init__, "__module__": cls.__module__})


def _own_api(module: ModuleType) -> dict[str, Any]:
    """The asyncio public names ``module`` provides an implementation of its own for."""
    api = {}
    for name in asyncio.__all__:
        ours = getattr(module, name, None)
        if ours is not None and ours is not _STOCK_API.get(name):
            api[name] = ours
    return api


def _own_impls(module: Any) -> dict[str, Any]:
    """Implementations ``module`` has of its own for the names in :data:`PY_IMPLS`.

    An object that is stdlib's (the Py one, or the public/C one) is not batonio's: testing it
    under a batonio name would only repeat the Py/C classes.
    """
    impls = {}
    for std_module, py_attr, name in PY_IMPLS:
        ours = getattr(module, name, None)
        if ours is None:
            continue
        if ours is getattr(std_module, py_attr, None) or ours is getattr(std_module, name, None):
            continue
        impls[name] = ours
    return impls


def _batonio(mode: str) -> Target:
    import batonio

    if mode == "compiled" and not batonio.EXTENSIONS:
        raise SystemExit("conformance: --mode compiled but batonio.EXTENSIONS is False "
                         "(run `make build`, and unset BATONIO_NO_EXTENSIONS)")
    if mode == "pure" and batonio.EXTENSIONS:
        raise SystemExit("conformance: --mode pure but batonio.EXTENSIONS is True "
                         "(BATONIO_NO_EXTENSIONS=1 was not honoured)")
    loop_cls = getattr(batonio, "EventLoop", None)
    if loop_cls is None:
        raise SystemExit("conformance: batonio has no EventLoop yet")
    return Target("batonio", loop_cls, _own_impls(batonio), _own_api(batonio),
                  bool(batonio.EXTENSIONS))


def _stand_in() -> Target:
    """Stdlib pieces dressed as batonio, so the harness can be verified end to end."""
    base = asyncio.unix_events._UnixSelectorEventLoop
    loop_cls = type(base.__name__, (base,), {"__module__": base.__module__})
    impls = {}
    for std_module, py_attr, name in PY_IMPLS:
        obj = getattr(std_module, py_attr, None)
        if obj is not None:
            impls[name] = obj
    # --api on the stand-in: the pure-Python Future/Task/current_task (they share the C
    # registries, so they are interchangeable with stdlib's) and a distinct Lock subclass.
    api = {"Future": asyncio.futures._PyFuture, "Task": asyncio.tasks._PyTask,
           "Lock": type("Lock", (asyncio.Lock,), {"__module__": "asyncio.locks"})}
    if hasattr(asyncio.tasks, "_py_current_task"):
        api["current_task"] = asyncio.tasks._py_current_task
    return Target("asyncio", loop_cls, impls, api, None)


def load_target(name: str, mode: str) -> Target:
    """Build the target named on the command line."""
    if name == "batonio":
        return _batonio(mode)
    if name == "asyncio":
        return _stand_in()
    if name == "stock":
        return Target("stock", None, {}, {}, None)
    raise SystemExit(f"conformance: unknown target {name!r}")
