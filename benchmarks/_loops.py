"""The event loops the benchmarks know by name, and how to build one from a spec.

A loop is given to ``run.py --loop`` either by a short name from :data:`KNOWN` or as
``module:callable`` (any importable zero-argument callable returning an asyncio loop).  A
:class:`Variant` is one column of the report: a label, the factory spec, the environment the
child process runs with, and the API module the workloads call.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DEFAULT", "KNOWN", "Variant", "resolve_factory", "variant_for"]


@dataclass(frozen=True)
class Variant:
    """One loop configuration measured by the benchmarks."""

    label: str
    factory: str
    env: dict[str, str] = field(default_factory=dict)
    api: str = "asyncio"

    @property
    def is_batonio(self) -> bool:
        """Whether this variant runs batonio's own loop."""
        return self.factory.startswith("batonio:")


_PURE = {"BATONIO_NO_EXTENSIONS": "1"}

#: Loops known by a short name.  ``batonio-pure`` is batonio with its compiled hot path
#: switched off, so the report shows what Cython buys.
KNOWN: dict[str, Variant] = {
    "asyncio": Variant("asyncio", "asyncio:new_event_loop"),
    "uvloop": Variant("uvloop", "uvloop:new_event_loop"),
    "rloop": Variant("rloop", "rloop:new_event_loop"),
    "batonio": Variant("batonio", "batonio:new_event_loop"),
    "batonio-pure": Variant("batonio-pure", "batonio:new_event_loop", _PURE),
}

#: What ``run.py`` measures when no ``--loop`` is given (those that import).
DEFAULT = ["asyncio", "uvloop", "rloop", "batonio", "batonio-pure"]


def variant_for(spec: str) -> Variant:
    """Return the variant for a short name or a ``module:callable`` spec."""
    if spec in KNOWN:
        return KNOWN[spec]
    if ":" not in spec:
        known = ", ".join(KNOWN)
        raise ValueError(f"unknown loop {spec!r}: use one of {known} or module:callable")
    return Variant(spec, spec)


def resolve_factory(spec: str) -> Callable[[], asyncio.AbstractEventLoop]:
    """Import ``module:callable`` and return the callable."""
    module_name, _, attr = spec.partition(":")
    obj: object = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    return obj
