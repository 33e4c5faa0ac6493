"""Run one CPython ``test.test_asyncio`` module against a target, in this process.

Started by ``run.py``, one process per module.  Order matters: the target is installed into
asyncio *before* the test module is imported, then the target-parametrised classes are added,
then the exclusions are dropped from the suite and the rest runs.

Results stream to ``--out`` as JSON lines, flushed one by one, so that a crash or a hang still
leaves every finished test on record:

    {"kind": "plan", "tests": [...], "generated": {...}, "excluded": {...}, ...}
    {"kind": "start", "id": ...}
    {"kind": "result", "id": ..., "status": "pass|fail|error|skip", "msg": ..., "loops": n}
    {"kind": "fixture", "id": ..., "msg": ...}        # setUpClass / setUpModule errors
    {"kind": "done", "loops": n}

A watchdog thread interrupts a test that runs longer than ``--test-timeout`` by raising
:class:`TestTimeout` in the main thread; it derives from ``SystemExit`` because asyncio (and
batonio) let SystemExit through callbacks and task steps, while unittest records it as an
error and goes on with the next test.
"""

from __future__ import annotations

import argparse
import faulthandler
import fnmatch
import importlib
import json
import os
import signal
import sys
import threading
import time
import traceback
import unittest
from typing import Any, TextIO

import _substitute
from _generate import generate

PREFIX = "test.test_asyncio."
TIMEOUT_SIGNAL = signal.SIGUSR2


class TestTimeout(SystemExit):
    """Raised in the main thread when a test overruns its time."""


def _short(test_id: str) -> str:
    return test_id[len(PREFIX):] if test_id.startswith(PREFIX) else test_id


def summarize(err: tuple[Any, Any, Any]) -> dict[str, str]:
    """One line for the report, where it was raised, and the traceback for -v."""
    etype, value, tb = err
    text = str(value).strip().splitlines()
    msg = f"{etype.__name__}: {text[0][:300]}" if text else etype.__name__
    frames = traceback.extract_tb(tb)
    where = ours = ""
    if frames:
        last = frames[-1]
        where = f"{last.filename}:{last.lineno} in {last.name}"
    for frame in reversed(frames):       # the innermost batonio frame, when there is one
        if "/batonio/" in frame.filename or frame.filename.startswith("src/batonio"):
            ours = f"{frame.filename}:{frame.lineno} in {frame.name}"
            break
    full = "".join(traceback.format_exception(etype, value, tb))
    return {"msg": msg, "where": where, "batonio": ours, "tb": full[-3000:]}


class Watchdog:
    """Interrupts the main thread when one test runs too long."""

    def __init__(self, timeout: float, emit: Any) -> None:
        self.timeout = timeout
        self.emit = emit
        self.current: str | None = None
        self.started = 0.0
        self.main = threading.main_thread().ident
        self.lock = threading.Lock()
        signal.signal(TIMEOUT_SIGNAL, self._raise)
        threading.Thread(target=self._watch, name="conformance-watchdog", daemon=True).start()

    def _raise(self, signum: int, frame: Any) -> None:
        raise TestTimeout(f"test exceeded {self.timeout:.0f} s (conformance watchdog)")

    def arm(self, test_id: str) -> None:
        with self.lock:
            self.current, self.started = test_id, time.monotonic()

    def disarm(self) -> None:
        with self.lock:
            self.current = None

    def _watch(self) -> None:
        kicks = 0
        last: str | None = None
        while True:
            time.sleep(1.0)
            with self.lock:
                current, started = self.current, self.started
            if current is None or current != last:
                kicks, last = 0, current
            if current is None or time.monotonic() - started < self.timeout + 5 * kicks:
                continue
            if kicks >= 4:              # the interrupt was swallowed: give up on the module
                self.emit({"kind": "hung", "id": current})
                faulthandler.dump_traceback(all_threads=True)
                os._exit(3)
            kicks += 1
            signal.pthread_kill(self.main, TIMEOUT_SIGNAL)


class StreamingResult(unittest.TestResult):
    """Writes one JSON line per finished test; a test's status is its worst outcome."""

    def __init__(self, emit: Any, watchdog: Watchdog, verbose: bool) -> None:
        super().__init__()
        self.emit = emit
        self.watchdog = watchdog
        self.verbose = verbose
        self.record: dict[str, Any] = {}
        self.started = False    # between startTest() and stopTest()

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self.record = {"kind": "result", "id": _short(test.id()), "status": "pass"}
        self.emit({"kind": "start", "id": self.record["id"]})
        self.watchdog.arm(self.record["id"])
        self.t0 = time.monotonic()
        self.started = True

    def interrupted(self, test: unittest.TestCase, err: Any) -> None:
        """A KeyboardInterrupt escaped the test (unittest lets it abort the run): record it."""
        self.record["status"] = "pass"
        self._set("error", err)
        self.emit(self.record)       # overrides the line stopTest() wrote

    def stopTest(self, test: unittest.TestCase) -> None:
        self.watchdog.disarm()
        self.started = False
        super().stopTest(test)
        self.record["loops"] = _substitute.LoopCounter.count
        self.record["secs"] = round(time.monotonic() - self.t0, 3)
        self.emit(self.record)
        if self.verbose:
            print(f"{self.record['status']:5} {self.record['id']}", file=sys.__stderr__)

    def _set(self, status: str, err: Any = None, reason: str | None = None) -> None:
        rank = {"pass": 0, "skip": 1, "fail": 2, "error": 3}
        if rank[status] >= rank[self.record["status"]]:
            self.record["status"] = status
            if err is not None:
                self.record.update(summarize(err))
            if reason is not None:
                self.record["msg"] = reason

    def _fixture(self, test: Any, err: Any) -> bool:
        if isinstance(test, unittest.TestCase):
            return False
        rec = {"kind": "fixture", "id": str(test)}  # an _ErrorHolder: setUpClass & co.
        rec.update(summarize(err))
        self.emit(rec)
        return True

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        if not self._fixture(test, err):
            self._set("fail", err)

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        if not self._fixture(test, err):
            self._set("error", err)

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        if not isinstance(test, unittest.TestCase):
            return
        if not self.started:
            # From 3.12 unittest skips a skipped class's or method's test without startTest()
            # but still calls stopTest(): give it its own record.
            self.record = {"kind": "result", "id": _short(test.id()), "status": "pass"}
            self.t0 = time.monotonic()
        if self.record.get("id") == _short(test.id()):
            self._set("skip", reason=reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)   # counts as a pass, as unittest says "OK"

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._set("fail", reason="unexpected success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._set("fail" if failed else "error", err)
            self.record["msg"] = f"{subtest._subDescription()} {self.record.get('msg', '')}"


def load_exclusions(path: str) -> list[tuple[str, str]]:
    """(glob over ``module.Class.test``, reason) pairs from the exclusions file."""
    rules = []
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                pattern, _, reason = line.partition("#")
                if pattern.strip():
                    rules.append((pattern.strip(), reason.strip()))
    return rules


def flatten(suite: unittest.TestSuite) -> list[unittest.TestCase]:
    tests = []
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            tests.extend(flatten(item))
        else:
            tests.append(item)
    return tests


def guard(test: unittest.TestCase, result: StreamingResult) -> None:
    """Let the run go on when a test leaks a KeyboardInterrupt (signal tests of runners)."""
    original = test.run

    def run(res: Any = None) -> Any:
        try:
            return original(res)
        except KeyboardInterrupt:
            result.interrupted(test, sys.exc_info())
            return None

    test.run = run  # type: ignore[method-assign]


def shard(tests: list[unittest.TestCase], index: int, count: int) -> list[unittest.TestCase]:
    """The tests of the ``index``-th of ``count`` groups of whole classes, balanced by size.

    Every shard computes the same assignment: classes by decreasing size, each to the
    lightest shard so far (ties to the lowest index).
    """
    sizes: dict[type, int] = {}
    for test in tests:
        sizes[type(test)] = sizes.get(type(test), 0) + 1
    load = [0] * count
    owner: dict[type, int] = {}
    for cls in sorted(sizes, key=lambda c: (-sizes[c], c.__qualname__)):
        target = load.index(min(load))
        owner[cls] = target
        load[target] += sizes[cls]
    return [t for t in tests if owner[type(t)] == index]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", required=True)
    parser.add_argument("--target", default="batonio", choices=["batonio", "asyncio", "stock"])
    parser.add_argument("--mode", default="compiled", choices=["compiled", "pure"])
    parser.add_argument("--api", action="store_true")
    parser.add_argument("--out", required=True)
    parser.add_argument("--exclusions", default="")
    parser.add_argument("--match", default="")
    parser.add_argument("--shard", default="0/1", help="i/n: run the i-th of n class groups")
    parser.add_argument("--test-timeout", type=float, default=30.0)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()

    out: TextIO = open(args.out, "w", encoding="utf-8", buffering=1)
    lock = threading.Lock()

    def emit(record: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(record) + "\n")
            out.flush()

    faulthandler.enable(file=sys.stderr, all_threads=True)
    target = _substitute.load_target(args.target, args.mode)
    target.install_loops()
    if args.api:
        target.install_api()
    module = importlib.import_module(PREFIX + args.module)
    generated, not_generated = ({}, {}) if args.target == "stock" else generate(
        module, target.impls)
    if args.api:
        target.patch_module_globals(module)

    rules = load_exclusions(args.exclusions)
    tests, excluded = [], {}
    for test in flatten(unittest.defaultTestLoader.loadTestsFromModule(module)):
        tid = _short(test.id())
        if args.match and not fnmatch.fnmatchcase(tid, f"*{args.match}*"):
            continue
        reason = next((r for p, r in rules if fnmatch.fnmatchcase(tid, p)), None)
        if reason is not None:
            excluded[tid] = reason
        else:
            tests.append(test)
    index, count = (int(x) for x in args.shard.split("/"))
    if count > 1:
        tests = shard(tests, index, count)
        if index:
            excluded = {}                # reported once, by shard 0
    prefix = args.module + "."
    emit({"kind": "plan", "tests": [_short(t.id()) for t in tests], "excluded": excluded,
          "generated": {prefix + k: prefix + v for k, v in generated.items()},
          "not_generated": not_generated, "api": target.patched_api,
          "impls": sorted(target.impls), "extensions": target.extensions,
          "python": sys.version.split()[0]})

    result = StreamingResult(emit, Watchdog(args.test_timeout, emit), args.verbose)
    for test in tests:
        guard(test, result)
    unittest.TestSuite(tests).run(result)
    emit({"kind": "done", "loops": _substitute.LoopCounter.count})
    out.close()
    sys.stdout.flush()
    os._exit(0)   # do not wait for threads a broken test left behind


if __name__ == "__main__":
    sys.exit(main())
