"""Run one workload on one loop in this (fresh) process and print the timing as JSON.

``run.py`` starts one of these per measurement, so no loop inherits another's warm caches,
imported modules or heap.  The child builds the loop with the factory, runs the workload once
at 1/50 of its size to warm up, collects garbage, then times the real run with
``time.perf_counter`` (wall) and ``time.process_time`` (CPU of every thread in the process).

Usage: ``_child.py --factory module:callable --api asyncio|batonio --bench NAME [--scale F]``
or ``_child.py --factory ... --api ... --probe`` (can the loop be built and run?).
Prints exactly one JSON object on stdout; any error goes to stderr with exit status 1.  A
workload that needs a feature the loop does not have (the loop raises NotImplementedError),
or a library that is not installed for this Python, prints ``{"skipped": reason}`` instead,
and the report shows the reason.  A footprint workload (``KIND == "footprint"``) is not timed
here: its ``measure`` returns creation time, RSS and traced bytes per object.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
import time
import traceback
from types import ModuleType
from typing import Any

import _loops
import workloads

__all__ = ["main"]


async def _probe(api: ModuleType) -> None:
    await api.sleep(0)


def _describe(factory_spec: str) -> dict[str, Any]:
    """Version and build facts of the loop's package, for the report header."""
    name = factory_spec.partition(":")[0].split(".")[0]
    package = sys.modules.get(name)
    version = getattr(package, "__version__", None)
    if name == "asyncio":
        version = "Python " + sys.version.split()[0]
    info: dict[str, Any] = {"version": version}
    if name == "batonio":
        # Whether the compiled hot path is the one running (False under BATONIO_NO_EXTENSIONS).
        info["extensions"] = getattr(package, "EXTENSIONS", None)
    return info


def _measure(loop: Any, api: ModuleType, bench: str, scale: float) -> dict[str, Any]:
    """Warm up, then time one full run; a feature the loop lacks makes the cell "skipped"."""
    work = workloads.BY_NAME[bench]
    n = max(1, int(work.SIZE * scale))
    try:
        loop.run_until_complete(work.run(api, max(1, n // 50)))
        if getattr(work, "KIND", None) == "footprint":
            # Creation time, RSS and traced bytes of n live objects (workloads/footprint.py).
            gc.collect()
            measure = work.measure  # type: ignore[attr-defined]
            result: dict[str, Any] = loop.run_until_complete(measure(api, n))
            return {"bench": bench, **result}
    except NotImplementedError as exc:
        # E.g. a loop without some I/O method: say which, rather than count it as a failure.
        where = traceback.extract_tb(exc.__traceback__)[-1]
        what = str(exc) or f"{where.name}() raised NotImplementedError"
        return {"bench": bench, "skipped": f"not supported by this loop: {what}"}
    except ModuleNotFoundError as exc:
        # A library the workload needs (httptools, uvicorn, trustme) is not installed for this
        # Python (e.g. a 3.13 venv where it does not build): skipped, with the reason.
        return {"bench": bench, "skipped": f"needs {exc.name}, not installed for this Python"}
    gc.collect()
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    ops = loop.run_until_complete(work.run(api, n))
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    return {"bench": bench, "ops": ops, "wall": wall, "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the measurement and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--factory", required=True)
    parser.add_argument("--api", default="asyncio", choices=["asyncio", "batonio"])
    parser.add_argument("--bench")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--probe", action="store_true")
    args = parser.parse_args(argv)

    factory = _loops.resolve_factory(args.factory)
    api = importlib.import_module(args.api)
    loop = factory()
    try:
        if args.probe:
            loop.run_until_complete(_probe(api))
            cls = type(loop)
            result: dict[str, Any] = {"ok": True, "loop": f"{cls.__module__}.{cls.__qualname__}"}
            result.update(_describe(args.factory))
        else:
            result = _measure(loop, api, args.bench, args.scale)
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
