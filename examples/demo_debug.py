"""The debugging features in ``make demo``: virtual time, deadlocks, the watchdog, chaos.

``demo.py`` calls :func:`main`; it can also run alone (``python examples/demo_debug.py``).
Each part runs an example program of this folder as a subprocess under ``python -m
batonio`` with one option, shows what it printed, and checks the promise of the feature.
It returns the list of failures (empty when every part behaved).
"""

from __future__ import annotations

import sys

from demo import Run, run_program

__all__ = ["main"]

RACE_SEEDS = range(20)
# Virtual time makes the schedule a function of the seed alone (in real time, whether two
# timers are due in the same iteration also depends on the machine's timing).
_CHAOS = ["--virtual-time", "--chaos-seed"]


def _show(run: Run, lines: int = 12) -> None:
    """Print a run's output (stdout, then the last lines of stderr), indented."""
    for line in run.stdout:
        print(f"    {line}")
    for line in run.stderr[-lines:]:
        print(f"    {line[:150]}")
    print(f"    (wall {run.wall:.2f} s, exit status {run.returncode})")


def virtual_time() -> list[str]:
    """10,000 sleepers under --virtual-time; the small version against real time."""
    print("== virtual time: python -m batonio --virtual-time examples/debug_sleepers.py")
    big = run_program("virtual", ["-m", "batonio", "--virtual-time", "examples/debug_sleepers.py"])
    _show(big)
    failures = [] if big.returncode == 0 else ["virtual time: the 10,000-task run failed"]
    small = ["examples/debug_sleepers.py", "--tasks", "300", "--hour", "3"]
    print("   the same program with 300 tasks and a 3 s hour, real time (stock asyncio) vs virtual:")
    virtual = run_program("virtual", ["-m", "batonio", "--virtual-time", *small])
    for _ in range(3):  # a busy machine can stall the real-time run: it gets three tries
        real = run_program("real", small)
        if real.stdout == virtual.stdout:
            break
    print(f"    real time: wall {real.wall:.2f} s   virtual time: wall {virtual.wall:.2f} s")
    same = real.returncode == 0 and real.stdout == virtual.stdout
    print(f"    outputs match: {'yes' if same else 'NO'}")
    if not same:
        failures.append("virtual time: output differs from real time")
    return failures


def deadlock() -> list[str]:
    """Two tasks waiting on each other: DeadlockError naming both."""
    print("== deadlock detection: python -m batonio --virtual-time examples/debug_deadlock.py")
    run = run_program("deadlock", ["-m", "batonio", "--virtual-time", "examples/debug_deadlock.py"])
    _show(run, lines=13)
    text = "\n".join(run.stderr)
    if run.returncode != 1 or "DeadlockError" not in text or "'consumer'" not in text or "'producer'" not in text:
        return ["deadlock: no DeadlockError naming both tasks"]
    return []


def watchdog() -> list[str]:
    """A callback blocking 0.5 s, reported by the watchdog while it blocks."""
    print("== watchdog: python -m batonio --watchdog 0.1 examples/debug_watchdog.py")
    run = run_program("watchdog", ["-m", "batonio", "--watchdog", "0.1", "examples/debug_watchdog.py"])
    if run.stderr:
        print(f"    {run.stderr[0][:150]}")
        print("      ...")
    _show(run, lines=4)
    text = "\n".join(run.stderr)
    if run.returncode != 0 or "is blocking the loop" not in text or "time.sleep(0.5)" not in text:
        return ["watchdog: the blocking callback was not reported with its stack"]
    return []


def chaos() -> list[str]:
    """A planted race: passes plainly, caught by some of 20 seeds, reproduced from one."""
    print("== chaos scheduling: python -m batonio --virtual-time --chaos-seed N examples/debug_race.py")
    plain = run_program("plain", ["-m", "batonio", "examples/debug_race.py"])
    print(f"    without chaos: {plain.stdout[-1] if plain.stdout else '?'} (exit {plain.returncode})")
    failing = []
    for seed in RACE_SEEDS:
        run = run_program(f"seed {seed}", ["-m", "batonio", *_CHAOS, str(seed), "examples/debug_race.py"])
        if run.returncode != 0:
            failing.append(seed)
    print(f"    seeds 0-19 that catch it: {failing}")
    failures = []
    if plain.returncode != 0:
        failures.append("chaos: the race shows without chaos")
    if not failing:
        return [*failures, "chaos: no seed in 20 caught the race"]
    again = run_program("again", ["-m", "batonio", *_CHAOS, str(failing[0]), "examples/debug_race.py"])
    print(f"    again with --chaos-seed {failing[0]}: {again.stdout[-1] if again.stdout else '?'} (exit {again.returncode})")
    if again.returncode == 0:
        failures.append(f"chaos: seed {failing[0]} did not reproduce the failure")
    return failures


def main() -> list[str]:
    """Run every part; return the failures."""
    failures: list[str] = []
    for part in (virtual_time, deadlock, watchdog, chaos):
        print()
        failures.extend(part())
    return failures


if __name__ == "__main__":
    found = main()
    for failure in found:
        print(f"FAILED: {failure}")
    sys.exit(1 if found else 0)
