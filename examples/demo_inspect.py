"""The introspection features in ``make demo``: the call graph, ps/pstree, the pytest plugin.

``demo.py`` calls :func:`main`; it can also run alone (``python examples/demo_inspect.py``).
Each part runs an example of this folder as a subprocess, shows what it printed, and checks
the promise of the feature.  It returns the list of failures (empty when all behaved).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from demo import REPO, run_program

__all__ = ["main"]


def _show(lines: list[str], limit: int = 40) -> None:
    for line in lines[:limit]:
        print(f"    {line[:150]}")


def call_graph() -> list[str]:
    """print_call_graph inside nested TaskGroup + gather (examples/inspect_graph.py)."""
    print("== call graph (3.14's asyncio.graph on this Python): python examples/inspect_graph.py")
    run = run_program("graph", ["examples/inspect_graph.py"])
    _show(run.stdout)
    expected = ["* Task(name='Task-", "  + Awaited by:", "    * Task(name='crawl'",
                "        * Task(name='Task-1'"]
    if run.returncode != 0 or not all(any(line.startswith(e) for line in run.stdout) for e in expected):
        return ["call graph: examples/inspect_graph.py did not print the expected graph"]
    return []


def ps_and_pstree() -> list[str]:
    """A program under --inspect, looked at with ps and pstree from another process."""
    print("== python -m batonio --inspect examples/inspect_server.py, then ps / pstree PID")
    proc = subprocess.Popen([sys.executable, "-m", "batonio", "--inspect",
                             "examples/inspect_server.py"], cwd=REPO, stdout=subprocess.PIPE,
                            text=True)
    failures: list[str] = []
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        for command in ("ps", "pstree"):
            run = run_program(command, ["-m", "batonio", command, str(proc.pid)])
            print(f"  $ python -m batonio {command} {proc.pid}")
            _show(run.stdout)
            if run.returncode != 0 or not any("TNDNBTG" in line for line in run.stdout):
                failures.append(f"{command}: did not show the program's tasks")
        refused = run_program("ps", ["-m", "batonio", "ps", str(os.getpid())])
        print(f"  $ python -m batonio ps {os.getpid()}   (this demo: not opted in)")
        _show(refused.stderr)
        if refused.returncode != 1:
            failures.append("ps on a process that did not opt in did not fail")
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return failures


SUITE = """
    import asyncio, pytest

    @pytest.fixture
    async def greeting():
        await asyncio.sleep(0)
        yield "hello"

    @pytest.mark.batonio(virtual_time=True)
    async def test_an_hour(greeting):
        await asyncio.sleep(3600)
        assert greeting == "hello"

    @pytest.mark.batonio
    async def test_forgets_a_task():
        asyncio.get_running_loop().create_task(asyncio.sleep(10), name="forgotten")
"""


def pytest_plugin() -> list[str]:
    """A two-test suite: one passes an hour in no time, one leaks a task and is caught."""
    print("== pytest plugin: python -m pytest -p batonio (one test leaks a task)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test_demo_suite.py"
        path.write_text(textwrap.dedent(SUITE))
        run = run_program("pytest", ["-m", "pytest", "-q", "-p", "batonio", "-p",
                                     "no:cacheprovider", str(path)])
    lines = [line for line in run.stdout if "leak" in line or "forgotten" in line
             or "passed" in line]
    _show(lines)
    summary = run.stdout[-1] if run.stdout else ""
    if "2 passed, 1 error" not in summary or not any("forgotten" in line for line in lines):
        return [f"pytest plugin: expected 2 passed and the leaked task named, got {summary!r}"]
    return []


def main() -> list[str]:
    """Run every part; return the failures."""
    failures: list[str] = []
    for part in (call_graph, ps_and_pstree, pytest_plugin):
        print()
        failures.extend(part())
    return failures


if __name__ == "__main__":
    found = main()
    for failure in found:
        print(f"FAILED: {failure}")
    sys.exit(1 if found else 0)
