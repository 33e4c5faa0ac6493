"""Add the target's Future/Task/registries as one more implementation in CPython's tests.

CPython runs each behaviour against its pure-Python and its C implementation by declaring one
``unittest.TestCase`` per implementation over a shared mixin: ``PyFutureTests`` sets
``cls = futures._PyFuture``, ``PyTask_PyFuture_Tests`` sets ``Task``/``Future``,
``PyIntrospectionTests`` sets ``_register_task = staticmethod(tasks._py_register_task)``,
``PyFutureDoneCallbackTests._new_future`` returns ``futures._PyFuture(...)``, and
``add_subclass_tests`` derives ``Task(CommonFuture, tasks._PyTask)``.

For every test class whose own namespace mentions a pure-Python implementation, this module
derives a sibling class -- ``Py`` in the name becomes ``Batonio`` -- that overrides those
entries with the target's objects:

* an attribute that *is* a Py implementation is replaced (through ``staticmethod`` too);
* a class deriving from one is re-created over the target's class, same namespace;
* a function that names one through ``futures``/``tasks``/``events`` is re-bound to globals
  in which those modules are proxies carrying the target's objects.

A class is generated only when the target has its own object for every Py implementation the
class uses; otherwise the reason is recorded.  The CPython source is never edited.
"""

from __future__ import annotations

import re
import types
import unittest
from typing import Any

from _substitute import PY_IMPLS

__all__ = ["generate"]

_PY_NAME = re.compile(r"Py(?=[A-Z_])")


def _py_objects() -> dict[int, tuple[str, Any]]:
    """id(Py implementation) -> (implementation name, object)."""
    found = {}
    for std_module, py_attr, name in PY_IMPLS:
        obj = getattr(std_module, py_attr, None)
        if obj is not None:
            found[id(obj)] = (name, obj)
    return found


class _Rewriter:
    """Substitutes the target's objects for Py implementations inside one class namespace."""

    def __init__(self, impls: dict[str, Any]) -> None:
        self.impls = impls
        self.py = _py_objects()
        self.py_attr_names = {py_attr for _, py_attr, _ in PY_IMPLS}
        self.used: set[str] = set()      # implementation names this class needs
        self._proxies: dict[int, types.ModuleType] = {}

    # Each rewrite returns the new value, or ``value`` itself when nothing Py is inside.
    def rewrite(self, value: Any) -> Any:
        if isinstance(value, staticmethod):
            inner = self.rewrite(value.__func__)
            return value if inner is value.__func__ else staticmethod(inner)
        if isinstance(value, classmethod):
            inner = self.rewrite(value.__func__)
            return value if inner is value.__func__ else classmethod(inner)
        hit = self.py.get(id(value))
        if hit is not None:
            return self._impl(hit[0], value)
        if isinstance(value, type):
            return self._rewrite_class(value)
        if isinstance(value, types.FunctionType):
            return self._rewrite_function(value)
        return value

    def _impl(self, name: str, fallback: Any) -> Any:
        self.used.add(name)
        return self.impls.get(name, fallback)

    def _rewrite_class(self, cls: type) -> type:
        if not cls.__module__.startswith("test."):
            return cls                    # only the tests' own helper classes are re-derived
        bases = tuple(self.rewrite(base) for base in cls.__bases__)
        if all(new is old for new, old in zip(bases, cls.__bases__, strict=True)):
            return cls
        namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
        return type(cls)(cls.__name__, bases, namespace)

    def _rewrite_function(self, func: types.FunctionType) -> types.FunctionType:
        names = set(_all_names(func.__code__))
        if not names & self.py_attr_names:
            return func
        new_globals = dict(func.__globals__)
        changed = False
        for key in names:
            value = new_globals.get(key)
            if isinstance(value, types.ModuleType) and value.__name__.startswith("asyncio"):
                proxy = self._proxy(value, names)
                if proxy is not value:
                    new_globals[key] = proxy
                    changed = True
            elif value is not None and id(value) in self.py:
                new_globals[key] = self._impl(self.py[id(value)][0], value)
                changed = True
        if not changed:
            return func
        clone = types.FunctionType(func.__code__, new_globals, func.__name__,
                                   func.__defaults__, func.__closure__)
        clone.__kwdefaults__ = func.__kwdefaults__
        clone.__qualname__ = func.__qualname__
        clone.__dict__.update(func.__dict__)
        return clone

    def _proxy(self, module: types.ModuleType, names: set[str]) -> types.ModuleType:
        swaps = {}
        for std_module, py_attr, name in PY_IMPLS:
            if std_module is module and py_attr in names and hasattr(module, py_attr):
                swaps[py_attr] = self._impl(name, getattr(module, py_attr))
        if not swaps:
            return module
        key = id(module)
        proxy = self._proxies.get(key)
        if proxy is None:
            proxy = types.ModuleType(module.__name__)
            proxy.__dict__.update(vars(module))
            self._proxies[key] = proxy
        proxy.__dict__.update(swaps)
        return proxy


def _all_names(code: types.CodeType) -> list[str]:
    """Global and attribute names a code object (and the code nested in it) refers to."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names.extend(_all_names(const))
    return names


def generate(module: types.ModuleType, impls: dict[str, Any]
             ) -> tuple[dict[str, str], dict[str, str]]:
    """Add the target-parametrised classes to ``module``.

    Returns (generated class name -> source class name, skipped source class -> reason).
    """
    generated: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name, cls in list(vars(module).items()):
        if not (isinstance(cls, type) and issubclass(cls, unittest.TestCase)):
            continue
        if cls.__module__ != module.__name__ or not _PY_NAME.search(name):
            continue
        rewriter = _Rewriter(impls)
        overrides = {}
        for key, value in vars(cls).items():
            if key.startswith("__"):
                continue
            new = rewriter.rewrite(value)
            if new is not value:
                overrides[key] = new
        if not rewriter.used:
            continue
        missing = sorted(rewriter.used - set(impls))
        if missing:
            skipped[name] = "target has no own " + ", ".join(missing)
            continue
        new_name = _PY_NAME.sub("Batonio", name)
        overrides["__module__"] = module.__name__
        overrides["__qualname__"] = new_name
        new_cls = type(cls)(new_name, (cls,), overrides)
        setattr(module, new_name, new_cls)
        generated[new_name] = name
    return generated, skipped
