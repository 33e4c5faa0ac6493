"""The debugging examples behave as their docs pages say (run as a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATONIO_") or k == "BATONIO_NO_EXTENSIONS"}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=120, env=env
    )


def test_sleepers_same_output_virtual_and_real() -> None:
    """docs/virtual-time.md: the small sleepers program prints the same in real and virtual time.

    Virtual time is deterministic; the real-time run is the oracle, and a noisy one: a loop
    stalled for half a grid step (20 ms here) by a busy machine really does finish a task
    at another grid point.  So the real run gets up to three tries to be on time.
    """
    small = ["examples/debug_sleepers.py", "--tasks", "150", "--hour", "4"]
    virtual = _run("-m", "batonio", "--virtual-time", *small)
    assert virtual.returncode == 0, virtual.stderr
    assert "150 tasks finished" in virtual.stdout
    real_outputs = []
    for _ in range(3):
        real = _run(*small)
        assert real.returncode == 0, real.stderr
        real_outputs.append(real.stdout)
        if real.stdout == virtual.stdout:
            break
    assert virtual.stdout in real_outputs, (virtual.stdout, real_outputs)


def test_deadlock_example_names_both_tasks() -> None:
    """docs/deadlock-detection.md: the producer/consumer deadlock is reported with both lines."""
    proc = _run("-m", "batonio", "--virtual-time", "examples/debug_deadlock.py")
    assert proc.returncode == 1
    assert "batonio.DeadlockError: deadlock: 3 tasks wait forever" in proc.stderr
    assert "debug_deadlock.py:23 in consumer: item = await queue.get()" in proc.stderr
    assert "debug_deadlock.py:17 in producer: await ready.wait()" in proc.stderr


def test_race_example_passes_plain_and_fails_with_seed_one() -> None:
    """docs/chaos.md: the planted race passes without chaos, fails with seed 1."""
    assert _run("-m", "batonio", "examples/debug_race.py").returncode == 0
    failing = _run("-m", "batonio", "--virtual-time", "--chaos-seed", "1", "examples/debug_race.py")
    assert failing.returncode == 1
    assert failing.stdout.strip() == "consumer saw: nothing"
