"""Run the seed programs on batonio and on stdlib asyncio, side by side.

``make demo`` runs this.  Each seed program in ``examples/`` is an ordinary asyncio program;
the demo runs it twice as a subprocess — once as ``python -m batonio examples/seed_X.py``
(unmodified, on batonio's loop) and once as ``python examples/seed_X.py`` (stdlib asyncio) —
and prints the two outputs next to each other with the wall time of each run and whether the
outputs match.  It exits with status 1 when a batonio run fails or its output differs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Run", "main", "run_program"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEEDS = ["seed_gather.py", "seed_event.py"]
TIMEOUT = 60.0
WIDTH = 38

# Run under ``python -m batonio -c``: prints the class of the loop asyncio.run() gave it.
LOOP_PROBE = """\
import asyncio

async def main():
    loop = asyncio.get_running_loop()
    print(type(loop).__module__ + "." + type(loop).__qualname__)

asyncio.run(main())
"""


@dataclass
class Run:
    """The outcome of running one program once."""

    title: str
    stdout: list[str]
    stderr: list[str]
    returncode: int
    wall: float


def run_program(title: str, args: list[str]) -> Run:
    """Run ``python *args`` from the repository root and time it."""
    env = dict(os.environ)
    env.pop("PYTHONASYNCIODEBUG", None)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        wall = time.perf_counter() - start
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Run(title, out.splitlines(), [f"timed out after {TIMEOUT:g} s"], -1, wall)
    wall = time.perf_counter() - start
    return Run(title, proc.stdout.splitlines(), proc.stderr.splitlines(), proc.returncode, wall)


def _cell(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def show(left: Run, right: Run) -> None:
    """Print two runs in two columns, then their stderr if any."""
    print(f"  {_cell(left.title):<{WIDTH}} | {_cell(right.title)}")
    print(f"  {'-' * WIDTH} | {'-' * WIDTH}")
    for i in range(max(len(left.stdout), len(right.stdout))):
        a = left.stdout[i] if i < len(left.stdout) else ""
        b = right.stdout[i] if i < len(right.stdout) else ""
        mark = " " if a == b else "≠"
        print(f"{mark} {_cell(a):<{WIDTH}} | {_cell(b)}")
    print(f"  {'-' * WIDTH} | {'-' * WIDTH}")
    wall_a, wall_b = f"wall {left.wall:.3f} s", f"wall {right.wall:.3f} s"
    print(f"  {wall_a:<{WIDTH}} | {wall_b}")
    exit_a, exit_b = f"exit status {left.returncode}", f"exit status {right.returncode}"
    print(f"  {exit_a:<{WIDTH}} | {exit_b}")
    for run in (left, right):
        if run.stderr:
            print(f"  stderr of {run.title}:")
            for line in run.stderr[-15:]:
                print(f"    {line}")


def _batonio_build() -> str:
    """Which batonio build ``python -m batonio`` will use, as far as this process can tell."""
    try:
        import batonio
    except ImportError as exc:
        return f"batonio does not import: {exc}"
    extensions = getattr(batonio, "EXTENSIONS", None)
    if extensions is None:
        return f"batonio {batonio.__version__}"
    kind = "compiled extensions" if extensions else "pure Python"
    return f"batonio {batonio.__version__}, {kind}"


def main() -> int:
    """Run every seed both ways, then the debugging features; return 0 only if all behaved."""
    import demo_debug
    import demo_inspect
    print(f"Python {sys.version.split()[0]}; {_batonio_build()}")
    failures: list[str] = []
    probe = run_program("probe", ["-m", "batonio", "-c", LOOP_PROBE])
    loop_class = probe.stdout[-1] if probe.returncode == 0 and probe.stdout else ""
    if loop_class.startswith("batonio"):
        print(f"python -m batonio runs asyncio programs on {loop_class}")
    else:
        detail = loop_class or (probe.stderr[-1] if probe.stderr else f"exit {probe.returncode}")
        print(f"python -m batonio did not give programs a batonio loop: {detail}")
        failures.append(f"python -m batonio: the loop was not batonio's ({detail})")
    for seed in SEEDS:
        path = f"examples/{seed}"
        print()
        print(f"== {path}")
        print(f"  batonio: python -m batonio {path}")
        print(f"  asyncio: python {path}")
        print()
        ours = run_program("batonio", ["-m", "batonio", path])
        theirs = run_program("asyncio (stdlib)", [path])
        show(ours, theirs)
        if ours.returncode != 0:
            failures.append(f"{path}: batonio run failed (exit status {ours.returncode})")
        elif theirs.returncode != 0:
            failures.append(f"{path}: stdlib asyncio run failed (exit status {theirs.returncode})")
        elif ours.stdout != theirs.stdout:
            failures.append(f"{path}: outputs differ")
        verdict = "yes" if ours.stdout == theirs.stdout and ours.returncode == 0 else "NO"
        print(f"  outputs match: {verdict}")
    failures.extend(demo_debug.main())  # virtual time, deadlocks, watchdog, chaos
    failures.extend(demo_inspect.main())  # call graph, ps/pstree, the pytest plugin
    print()
    if failures:
        print("demo FAILED:")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("demo OK: batonio ran every seed program with the same output as asyncio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
