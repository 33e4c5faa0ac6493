#!/usr/bin/env python
"""Run CPython's installed ``test.test_asyncio`` modules against batonio and print a table.

    python tests/conformance/run.py [--mode compiled|pure] [--modules m1,m2] [--api]
                                    [--stock] [--check] [--record-floors] [-v]

Each module runs in its own child process (``_child.py``), at most ``-j`` at a time, under a
per-module timeout; see README.md in this folder for what the child substitutes and how the
numbers are counted.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import ModuleResult, failure_groups, merge, parse, table  # noqa: E402

ROOT = HERE.parent.parent
CACHE = ROOT / "build" / "conformance"
FLOORS = HERE / "floors.json"
EXCLUSIONS = HERE / "exclusions.txt"

ISSUE3_MODULES = ["test_base_events", "test_events", "test_futures", "test_futures2",
                  "test_tasks", "test_runners", "test_context", "test_pep492", "test_threads"]
if sys.version_info >= (3, 12):
    ISSUE3_MODULES.append("test_eager_task_factory")
# Issue 8 (networking): these run against batonio's loop with the issue-3 modules.
NET_MODULES = ["test_sock_lowlevel", "test_streams", "test_server", "test_buffered_proto",
               "test_protocols", "test_transports", "test_sendfile"]
# Issue 9 (TLS): asyncio's TLS protocol tests and the uvloop-derived TLS suite.
NET_MODULES += ["test_sslproto", "test_ssl"]
ISSUE3_MODULES += NET_MODULES
# Issue 10 (processes and pipes).
PROC_MODULES = ["test_subprocess", "test_unix_events"]
ISSUE3_MODULES += PROC_MODULES
API_MODULES = ["test_locks", "test_queues", "test_tasks", "test_taskgroups", "test_timeouts",
               "test_waitfor", "test_threads", "test_pep492", "test_context", "test_runners",
               "test_streams", "test_subprocess"]
# Modules split into this many child processes (by whole test classes), to balance -j 2.
SHARDS = {"test_tasks": 2}
# Slowest first, so that two workers finish together.
_WEIGHT = {"test_tasks": 0, "test_events": 1, "test_subprocess": 1, "test_eager_task_factory": 2,
           "test_base_events": 3, "test_futures": 4, "test_locks": 5, "test_taskgroups": 6}

PY = f"{sys.version_info.major}.{sys.version_info.minor}"


def run_module(module: str, target: str, shard: tuple[int, int], args: argparse.Namespace
               ) -> ModuleResult:
    """Run one module (or one shard of it) in a child process and parse what it reported."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tag = f"{PY}-{target}-{args.mode}{'-api' if args.api else ''}-{module}"
    if shard[1] > 1:
        tag += f"-{shard[0]}of{shard[1]}"
    out, log = CACHE / f"{tag}.jsonl", CACHE / f"{tag}.log"
    env = dict(os.environ)
    if target == "batonio" and args.mode == "pure":
        env["BATONIO_NO_EXTENSIONS"] = "1"
    elif target == "batonio":
        env.pop("BATONIO_NO_EXTENSIONS", None)
    cmd = [sys.executable, str(HERE / "_child.py"), "--module", module, "--target", target,
           "--mode", args.mode, "--out", str(out), "--exclusions", str(EXCLUSIONS),
           "--test-timeout", str(args.test_timeout), "--shard", f"{shard[0]}/{shard[1]}"]
    if args.api and target != "stock":
        cmd.append("--api")
    if args.k:
        cmd += ["--match", args.k]
    if args.verbose > 1:
        cmd.append("-v")
    t0 = time.monotonic()
    rc: int | None
    with open(log, "w", encoding="utf-8") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                cwd=str(CACHE), start_new_session=True)
        try:
            rc = proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)    # the child and anything it spawned
            proc.wait()
            rc = None
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    return parse(module, target, str(out), rc, tail, time.monotonic() - t0)


def run_all(jobs: list[tuple[str, str]], args: argparse.Namespace
            ) -> dict[tuple[str, str], ModuleResult]:
    """Run (module, target) jobs, ``args.jobs`` at a time, reporting progress on stderr."""
    parts = [(m, t, (i, SHARDS.get(m, 1))) for m, t in jobs for i in range(SHARDS.get(m, 1))]
    parts.sort(key=lambda j: (_WEIGHT.get(j[0], 99), j[1], j[2]))
    pieces: dict[tuple[str, str], list[ModuleResult]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_module, m, t, sh, args): (m, t, sh) for m, t, sh in parts}
        for n, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            res = fut.result()
            m, t, sh = futures[fut]
            pieces.setdefault((m, t), []).append(res)
            note = f"  (!) {res.problem}" if res.problem else ""
            part = f" {sh[0] + 1}/{sh[1]}" if sh[1] > 1 else ""
            print(f"[{n}/{len(parts)}] {(res.module + part):24} {res.target:8} "
                  f"run {len(res.status):5}  pass {res.count('pass'):5}  "
                  f"loops {res.loops:5}  {res.secs:5.1f} s{note}", file=sys.stderr, flush=True)
    return {key: merge(results) for key, results in pieces.items()}


def stock_cache_path() -> Path:
    return CACHE / f"stock-{sys.version.split()[0]}.json"


def load_stock() -> dict[str, dict[str, str]]:
    try:
        return json.loads(stock_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_stock(results: list[ModuleResult]) -> dict[str, dict[str, str]]:
    stock = load_stock()
    for res in results:
        if not res.problem:
            stock[res.module] = {tid: rec["status"] for tid, rec in res.status.items()}
    CACHE.mkdir(parents=True, exist_ok=True)
    stock_cache_path().write_text(json.dumps(stock, indent=0, sort_keys=True),
                                  encoding="utf-8")
    return stock


def floors_key(args: argparse.Namespace) -> str:
    return args.mode + ("+api" if args.api else "")


def check_floors(results: list[ModuleResult], args: argparse.Namespace) -> list[str]:
    """Modules whose pass count fell below the recorded floor."""
    floors = json.loads(FLOORS.read_text()) if FLOORS.exists() else {}
    mine = floors.get(PY, {}).get(floors_key(args), {})
    problems = []
    for res in results:
        floor = mine.get(res.module)
        if floor is None:
            print(f"note: no floor recorded for {res.module} ({PY}, {floors_key(args)})",
                  file=sys.stderr)
        elif res.count("pass") < floor:
            problems.append(f"{res.module}: {res.count('pass')} passed < floor {floor}")
    return problems


def record_floors(results: list[ModuleResult], args: argparse.Namespace) -> None:
    floors = json.loads(FLOORS.read_text()) if FLOORS.exists() else {}
    mine = floors.setdefault(PY, {}).setdefault(floors_key(args), {})
    for res in results:
        mine[res.module] = res.count("pass")
    FLOORS.write_text(json.dumps(floors, indent=2, sort_keys=True) + "\n")
    print(f"floors recorded in {FLOORS.relative_to(ROOT)} for {PY} {floors_key(args)}",
          file=sys.stderr)


def main() -> int:
    default_mode = "pure" if os.environ.get("BATONIO_NO_EXTENSIONS") else "compiled"
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=["compiled", "pure"], default=default_mode)
    p.add_argument("--modules", help="comma-separated test_asyncio modules")
    p.add_argument("--api", action="store_true",
                   help="also substitute batonio's own public API names (issue 4)")
    p.add_argument("--stock", action="store_true",
                   help="also run the modules on unmodified asyncio, the baseline")
    p.add_argument("--target", choices=["batonio", "asyncio"], default="batonio",
                   help="asyncio = a stand-in built from stdlib pieces, to test the harness")
    p.add_argument("--check", action="store_true", help="fail below the floors in floors.json")
    p.add_argument("--record-floors", action="store_true")
    p.add_argument("-j", "--jobs", type=int, default=2)
    p.add_argument("--timeout", type=float, default=300, help="per module, seconds")
    p.add_argument("--test-timeout", type=float, default=30, help="per test, seconds")
    p.add_argument("-k", default="", help="only tests whose id contains this (glob)")
    p.add_argument("--failures", type=int, default=12, help="failure groups to print")
    p.add_argument("--json", help="also write the full per-test results here")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="-v lists every failing test; -vv streams every test")
    args = p.parse_args()

    modules = (args.modules.split(",") if args.modules
               else API_MODULES if args.api else ISSUE3_MODULES)
    modules = [m if m.startswith("test_") else f"test_{m}" for m in modules]
    jobs = [(m, args.target) for m in modules]
    if args.stock:
        jobs += [(m, "stock") for m in modules]
    t0 = time.monotonic()
    done = run_all(jobs, args)
    results = [done[(m, args.target)] for m in modules]
    stock = save_stock([done[(m, "stock")] for m in modules]) if args.stock else load_stock()
    stock = {m: stock[m] for m in modules if m in stock} or None

    title = (f"conformance: Python {sys.version.split()[0]}, target {args.target}, "
             f"mode {args.mode}{', --api' if args.api else ''}")
    api = sorted({n for r in results for n in r.plan.get("api", [])})
    impls = sorted({n for r in results for n in r.plan.get("impls", [])})
    print(f"\n{title}\n")
    print(table(results, stock))
    if args.api:
        print(f"--api substituted {len(api)} names: {', '.join(api) or '(none)'}")
    print(f"target's own implementations used for generated classes: {', '.join(impls)}")
    not_gen = {f"{r.module}.{k}": v for r in results
               for k, v in r.plan.get("not_generated", {}).items()}
    for cls, why in sorted(not_gen.items()):
        print(f"not generated: {cls} ({why})")
    print()
    print(failure_groups(results, stock, args.failures))
    if args.verbose:
        print("\nfailing tests:")
        for res in results:
            for tid, rec in sorted(res.status.items()):
                if rec["status"] in ("fail", "error"):
                    print(f"  {rec['status']:5} {tid}: {rec.get('msg', '')}")
    print(f"\nwall time {time.monotonic() - t0:.0f} s with -j {args.jobs}")

    full = {"title": title, "modules": {r.module: {"status": r.status, "excluded": r.excluded,
                                                   "generated": r.generated, "loops": r.loops,
                                                   "problem": r.problem} for r in results}}
    CACHE.mkdir(parents=True, exist_ok=True)
    last = CACHE / f"last-{PY}-{args.target}-{floors_key(args)}.json"
    last.write_text(json.dumps(full), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(full), encoding="utf-8")

    if args.record_floors or args.check:
        if args.target != "batonio":
            print("floors are kept for the batonio target only", file=sys.stderr)
            return 2
    if args.record_floors:
        record_floors(results, args)
    if args.check:
        problems = check_floors(results, args)
        for line in problems:
            print(f"FLOOR: {line}", file=sys.stderr)
        if problems:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
