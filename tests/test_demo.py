"""The seed programs run unmodified under ``python -m batonio`` and behave as on asyncio.

These run real subprocesses with real sleeps (each seed program sleeps one second), so the
time checks are deliberately loose: program 1's three one-second sleeps must overlap (elapsed
at least 1 s, well under the 3 s they would take one after another), not meet a deadline.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GATHER = "examples/seed_gather.py"
EVENT = "examples/seed_event.py"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("batonio.__main__") is None,
    reason="batonio.__main__ does not exist yet: `python -m batonio` cannot run programs",
)


def _run(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``python *args`` from the repository root; return the result and its wall time."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    return proc, time.perf_counter() - start


def test_seed_gather_on_batonio() -> None:
    """Program 1: three tasks print One, sleep one second together, print Two."""
    proc, elapsed = _run("-m", "batonio", GATHER)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["One", "One", "One", "Two", "Two", "Two"]
    # The three sleep(1) calls overlap: one second in all, not three.
    assert 1.0 <= elapsed < 2.0, f"took {elapsed:.3f} s"


def test_seed_event_on_batonio_matches_asyncio() -> None:
    """Program 2: prints exactly what it prints on stdlib asyncio."""
    ours, elapsed = _run("-m", "batonio", EVENT)
    theirs, _ = _run(EVENT)
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout.splitlines() == theirs.stdout.splitlines()
    # The event is set by a call_later(1, ...) callback.
    assert elapsed >= 1.0, f"took {elapsed:.3f} s"


def test_programs_get_a_batonio_loop() -> None:
    """``python -m batonio`` really runs the program on batonio's loop, not asyncio's."""
    code = (
        "import asyncio\n"
        "async def main():\n"
        "    print(type(asyncio.get_running_loop()).__module__)\n"
        "asyncio.run(main())\n"
    )
    proc, _ = _run("-m", "batonio", "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("batonio"), proc.stdout


def test_demo_inspect_parts_behave() -> None:
    """make demo's call-graph, ps/pstree and pytest-plugin parts report no failure."""
    done = subprocess.run([sys.executable, "examples/demo_inspect.py"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "batonio leak check: the test left" in done.stdout
