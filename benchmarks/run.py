"""Run the benchmark workloads on several event loops and print medians and ratios.

Every (workload, loop) measurement runs in a fresh process (``_child.py``), so no loop
benefits from another's warm-up.  Within a round every workload runs on every loop, the
loops interleaved and their order rotated from one round to the next, so that a slow spell of
a shared machine falls on all loops alike rather than on one.

For each workload the report gives, per loop: the median wall time over the rounds, the
min–max spread, the speed relative to stdlib asyncio and to uvloop (``2.00x`` = twice as
fast), and a CPU view — operations per CPU-second of the process and its ratio to asyncio —
which a noisy neighbour on a shared machine disturbs less than wall time.

    python benchmarks/run.py                       # every available loop, every workload
    python benchmarks/run.py --quick --rounds 1    # a smoke run
    python benchmarks/run.py --loop asyncio --loop batonio --bench sleep0 --rounds 7
    python benchmarks/run.py --api batonio         # batonio's loops run batonio's own API
    python benchmarks/run.py --group tcp --group http   # only the I/O workloads

See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _loops  # noqa: E402
import workloads  # noqa: E402

__all__ = ["main"]

REPO = HERE.parent
CHILD = HERE / "_child.py"
RESULTS = HERE / "results"
QUICK_SCALE = 0.1
#: ``--loadgen`` for the HTTP workload, passed to the children (None: the workload's default).
LOADGEN: str | None = None


# --------------------------------------------------------------------------- environment


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages: how busy the shared machine was."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: machine, Python, commit, date."""
    commit = _git("rev-parse", "--short", "HEAD")
    # Untracked files count: a new module not yet committed changes what runs.
    dirty = _git("status", "--porcelain")
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "hostname": platform.node(),
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory": _memory_total(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "python_build": sys.version.replace("\n", " "),
        "python_executable": sys.executable,
        "commit": commit
        + (" (working tree differs from it)" if dirty not in ("", "unknown") else ""),
        "commit_full": _git("rev-parse", "HEAD"),
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": dirty not in ("", "unknown"),
        "loadavg_start": loadavg(),
    }


def _memory_total() -> str:
    """The machine's RAM (``MemTotal`` of /proc/meminfo), or "unknown"."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


# --------------------------------------------------------------------------- children


def _child_env(variant: _loops.Variant) -> dict[str, str]:
    env = dict(os.environ)
    # A variant that does not ask for the pure build must not inherit the switch either.
    env.pop("BATONIO_NO_EXTENSIONS", None)
    env.update(variant.env)
    if LOADGEN is not None:
        env["BATONIO_BENCH_LOADGEN"] = LOADGEN
    return env


def _run_child(variant: _loops.Variant, extra: list[str], timeout: float) -> dict[str, Any]:
    """Run ``_child.py`` for one variant; return its JSON, or ``{"error": ...}``."""
    cmd = [sys.executable, str(CHILD), "--factory", variant.factory, "--api", variant.api, *extra]
    try:
        proc = subprocess.run(
            cmd,
            cwd=REPO,
            env=_child_env(variant),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"unreadable output: {proc.stdout[-200:]!r}"}
    return result


def select_variants(
    names: list[str], api: str, timeout: float
) -> list[tuple[_loops.Variant, dict[str, Any]]]:
    """Build the variants asked for and keep those whose loop can be created and run."""
    base: list[_loops.Variant] = []
    for name in names:
        base.append(_loops.variant_for(name))
    variants: list[_loops.Variant] = []
    for v in base:
        if v.is_batonio and api in ("batonio", "both"):
            api_variant = _loops.Variant(v.label + "+api", v.factory, v.env, "batonio")
            variants.extend([v, api_variant] if api == "both" else [api_variant])
        else:
            variants.append(v)
    usable = []
    for v in variants:
        info = _run_child(v, ["--probe"], timeout)
        if "error" in info:
            print(f"skipping {v.label}: {info['error']}", file=sys.stderr)
            continue
        if (
            v.is_batonio
            and info.get("extensions") is False
            and "BATONIO_NO_EXTENSIONS" not in v.env
        ):
            print(
                f"note: {v.label} runs without compiled extensions (run `make build`)",
                file=sys.stderr,
            )
        usable.append((v, info))
    return usable


# --------------------------------------------------------------------------- measuring


def measure(
    variants: list[_loops.Variant], benches: list[str], rounds: int, scale: float, timeout: float
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Run every bench on every variant ``rounds`` times, interleaved and rotated."""
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {
        b: {v.label: [] for v in variants} for b in benches
    }
    total = rounds * len(benches) * len(variants)
    done = 0
    progress = sys.stderr.isatty()
    for r in range(rounds):
        shift = r % len(variants)
        order = variants[shift:] + variants[:shift]
        for bench in benches:
            for v in order:
                result = _run_child(v, ["--bench", bench, "--scale", repr(scale)], timeout)
                samples[bench][v.label].append(result)
                done += 1
                if progress:
                    status = (
                        result.get("error")
                        or result.get("skipped")
                        or f"{result['wall'] * 1000:.0f} ms"
                    )
                    line = f"[{done}/{total}] round {r + 1}: {bench} on {v.label}: {status}"
                    print(f"\r{line[:100]:<100}", end="", file=sys.stderr, flush=True)
                elif "error" in result:
                    print(f"{bench} on {v.label} failed: {result['error']}", file=sys.stderr)
    if progress:
        print(f"\r{'':<100}\r", end="", file=sys.stderr, flush=True)
    return samples


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, spread and per-CPU-second rate of one (bench, loop) cell."""
    if runs and all("skipped" in s for s in runs):
        return {"skipped": runs[0]["skipped"]}
    good = [s for s in runs if "error" not in s and "skipped" not in s]
    if not good:
        errors = sorted({s.get("error") or s.get("skipped", "?") for s in runs})
        return {"error": "; ".join(errors)}
    walls = [s["wall"] for s in good]
    cpus = [s["cpu"] for s in good]
    ops = good[0]["ops"]
    cpu = statistics.median(cpus)
    cell: dict[str, Any] = {
        "ops": ops,
        "n": len(good),
        "failed": len(runs) - len(good),
        "wall": statistics.median(walls),
        "wall_min": min(walls),
        "wall_max": max(walls),
        "cpu": cpu,
        "ops_per_cpu_s": ops / cpu if cpu > 0 else float("inf"),
    }
    if "rss_per_object" in good[0]:
        # A footprint row (workloads/footprint.py): bytes per object, by RSS and by tracemalloc.
        rss = [s["rss_per_object"] for s in good]
        cell.update(
            rss_per_object=statistics.median(rss),
            rss_per_object_min=min(rss),
            rss_per_object_max=max(rss),
            rss_after=statistics.median([s["rss_after"] for s in good]),
        )
        traced = [s["traced_per_object"] for s in good if "traced_per_object" in s]
        if traced:
            cell["traced_per_object"] = statistics.median(traced)
        notes = sorted({s["note"] for s in good if s.get("note")})
        if notes:
            cell["note"] = "; ".join(notes)
    return cell


# --------------------------------------------------------------------------- report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _rate(x: float) -> str:
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.2f}{unit}"
    return f"{x:.0f}"


def _ratio(ref: dict[str, Any] | None, cell: dict[str, Any], key: str, invert: bool) -> str:
    if ref is None or "wall" not in ref or "wall" not in cell or not cell[key] or not ref[key]:
        return "-"
    r = ref[key] / cell[key] if invert else cell[key] / ref[key]
    return f"{r:.2f}x"


def _io_notes(table: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Header lines saying how the I/O workloads in this run were set up."""
    notes = []
    if any(bench.startswith("tcp_") for bench in table):
        notes.append(
            "  tcp_*:   echo server and clients in the same loop and process over 127.0.0.1;"
            " ops = verified round trips, CPU = both ends"
        )
    if any(bench.startswith("udp_") for bench in table):
        notes.append(
            "  udp_*:   datagram echo, both endpoints in the same loop and process over"
            " 127.0.0.1; ops = verified round trips, CPU = both ends"
        )
    if "http_keepalive" in table or "uvicorn_hello" in table:
        http = workloads.http_keepalive
        notes.append(
            f"  http:    load from {http.load_generator(LOADGEN)} in another process,"
            f" {http.CONNECTIONS} keep-alive connections;"
            " ops/CPU-s = requests per CPU-second of the server process alone"
        )
    if "uvicorn_hello" in table:
        try:
            import uvicorn
        except ImportError:
            version = "not installed for this Python"
        else:
            version = uvicorn.__version__
        notes.append(
            f"  uvicorn: {version}, httptools protocol, served by"
            " `await Server.serve()` on the loop under test"
        )
    if any(_is_footprint(bench) for bench in table):
        notes.append(
            "  footprint_*: n live objects in a fresh process; bytes/obj = RSS delta / n,"
            " traced = tracemalloc's (a second creation); time = creating all n"
        )
    if any(bench.startswith("tls_") for bench in table):
        notes.append(
            "  tls_*:   TLS 1.3 (ECDSA P-256 certificate made once per run with trustme) over"
            " 127.0.0.1, both ends in the same loop; CPU = both ends"
        )
    return notes


def _is_footprint(bench: str) -> bool:
    return getattr(workloads.BY_NAME[bench], "KIND", None) == "footprint"


def _bytes(x: float) -> str:
    return f"{x:,.0f}"


def _footprint_rows(bench: str, cells: dict[str, dict[str, Any]], w: int) -> list[str]:
    """The per-loop lines of one footprint workload."""
    out = [
        f"{'loop':<{w}}{'B/obj RSS':>10}  {'min-max':<14}{'vs asyncio':>11}{'traced B':>9}"
        f"{'create ms':>10}  {'min-max ms':<15}{'us/obj':>7}{'objs/CPU-s':>11}{'CPU vs asyncio':>15}"
    ]
    ref = cells.get("asyncio")
    for label, c in cells.items():
        if "skipped" in c or "error" in c:
            what = "skipped" if "skipped" in c else "failed"
            out.append(f"{label:<{w}}{what}: {c.get('skipped') or c.get('error')}"[:120])
            continue
        spread = f"{_bytes(c['rss_per_object_min'])}-{_bytes(c['rss_per_object_max'])}"
        vs = "-"
        if ref is not None and c["rss_per_object"] > 0 and ref.get("rss_per_object", 0) > 0:
            # Smaller is better: asyncio's bytes / this loop's, like the time ratios.
            vs = f"{ref['rss_per_object'] / c['rss_per_object']:.2f}x"
        traced = _bytes(c["traced_per_object"]) if "traced_per_object" in c else "-"
        wall_spread = f"{_ms(c['wall_min'])}-{_ms(c['wall_max'])}"
        out.append(
            f"{label:<{w}}{_bytes(c['rss_per_object']):>10}  {spread:<14}{vs:>11}{traced:>9}"
            f"{_ms(c['wall']):>10}  {wall_spread:<15}{c['wall'] / c['ops'] * 1e6:>7.2f}"
            f"{_rate(c['ops_per_cpu_s']):>11}{_ratio(ref, c, 'ops_per_cpu_s', False):>15}"
        )
        if c.get("note"):
            out.append(f"{'':<{w}}note: {c['note']}")
    return out


def footprint_table(
    table: dict[str, dict[str, dict[str, Any]]], labels: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The footprint rows alone, for the JSON: bytes per object and creation time per loop."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for bench, cells in table.items():
        if not _is_footprint(bench):
            continue
        row: dict[str, dict[str, Any]] = {}
        for label in labels:
            c = cells.get(label, {})
            if "rss_per_object" not in c:
                row[label] = {"error": c.get("error") or c.get("skipped") or "not measured"}
                continue
            row[label] = {
                "objects": c["ops"],
                "rss_bytes_per_object": c["rss_per_object"],
                "rss_bytes_per_object_min": c["rss_per_object_min"],
                "rss_bytes_per_object_max": c["rss_per_object_max"],
                "traced_bytes_per_object": c.get("traced_per_object"),
                "create_ms": c["wall"] * 1000,
                "create_ms_min": c["wall_min"] * 1000,
                "create_ms_max": c["wall_max"] * 1000,
                "create_us_per_object": c["wall"] / c["ops"] * 1e6,
                "objects_per_cpu_s": c["ops_per_cpu_s"],
                "rounds": c["n"],
            }
            if c.get("note"):
                row[label]["note"] = c["note"]
        out[bench] = row
    return out


def tls_certificates(benches: list[str], stack: ExitStack) -> None:
    """Make the TLS workloads' certificate once for the whole run and name it for the children."""
    from workloads import _tls

    if os.environ.get(_tls.ENV) or not any(b.startswith("tls_") for b in benches):
        return
    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="batonio-bench-tls-"))
    _tls.write_certificates(folder)
    os.environ[_tls.ENV] = folder


def report(
    info: dict[str, Any],
    probes: dict[str, dict[str, Any]],
    table: dict[str, dict[str, dict[str, Any]]],
    args: argparse.Namespace,
) -> str:
    """Format the whole report as text."""
    out: list[str] = []
    out.append("batonio benchmarks")
    out.append(f"  date:    {info['date']}")
    out.append(
        f"  machine: {info['hostname']}, {info['nproc']} CPUs usable, {info['cpu']},"
        f" {info['memory']} ({info['platform']})"
    )
    out.append(
        f"  load:    {info['loadavg_start']} at start, {info['loadavg_end']} at end (1/5/15 min)"
    )
    out.append(f"  python:  {info['python']} ({info['python_executable']})")
    out.append(f"  commit:  {info['commit']}")
    out.append(
        f"  rounds:  {args.rounds}, sizes x{args.scale:g}, one fresh process per measurement"
    )
    for label, p in probes.items():
        extra = ""
        if "extensions" in p:
            extra = ", compiled extensions" if p["extensions"] else ", pure Python"
        api = "" if not label.endswith("+api") else ", batonio's own API"
        out.append(f"  loop {label}: {p.get('loop')} {p.get('version') or ''}{extra}{api}".rstrip())
    out.extend(_io_notes(table))
    out.append("")
    out.append("Speed ratios are other/this for time: 2.00x = twice as fast as the reference.")
    out.append("ops/CPU-s counts CPU time of the whole process (all threads).")
    w = max([18] + [len(label) + 2 for label in probes])
    header = (
        f"{'loop':<{w}}{'median ms':>10}  {'min-max ms':<17}{'vs asyncio':>11}{'vs uvloop':>10}"
        f"{'ops/CPU-s':>11}{'CPU vs asyncio':>15}"
    )
    for bench, cells in table.items():
        work = workloads.BY_NAME[bench]
        ops = next((c["ops"] for c in cells.values() if "ops" in c), None)
        out.append("")
        sized = f", {ops:,} ops" if ops else ""
        out.append(f"== {bench}: {work.DESCRIPTION}{sized}")
        if _is_footprint(bench):
            out.extend(_footprint_rows(bench, cells, w))
            continue
        out.append(header)
        ref = cells.get("asyncio")
        uv = cells.get("uvloop")
        for label, c in cells.items():
            if "skipped" in c:
                out.append(f"{label:<{w}}skipped: {c['skipped']}"[:120])
                continue
            if "error" in c:
                out.append(f"{label:<{w}}failed: {c['error']}"[:120])
                continue
            spread = f"{_ms(c['wall_min'])}-{_ms(c['wall_max'])}"
            failed = f"  ({c['failed']} failed)" if c["failed"] else ""
            out.append(
                f"{label:<{w}}{_ms(c['wall']):>10}  {spread:<17}"
                f"{_ratio(ref, c, 'wall', True):>11}{_ratio(uv, c, 'wall', True):>10}"
                f"{_rate(c['ops_per_cpu_s']):>11}{_ratio(ref, c, 'ops_per_cpu_s', False):>15}{failed}"
            )
    # One summary matrix: wall-time speed vs asyncio, bench by loop.
    labels = list(probes)
    if "asyncio" in labels and len(table) > 1:
        out.append("")
        out.append("Summary: speed vs asyncio (median wall time; higher is faster)")
        widths = [max(10, len(lb) + 2) for lb in labels]
        names = "".join(f"{lb:>{cw}}" for lb, cw in zip(labels, widths, strict=True))
        out.append(f"{'benchmark':<20}{names}")
        for bench, cells in table.items():
            if _is_footprint(bench):
                continue
            row = [_ratio(cells.get("asyncio"), cells[lb], "wall", True) for lb in labels]
            cols = "".join(f"{x:>{cw}}" for x, cw in zip(row, widths, strict=True))
            out.append(f"{bench:<20}{cols}")
        out.extend(_cpu_summary(table, labels))
    out.extend(_footprint_summary(table, labels))
    return "\n".join(out)


def _cpu_rate(cell: dict[str, Any] | None) -> float | None:
    """A cell's ops per CPU-second, or None when it did not run."""
    if cell is None or "wall" not in cell or not cell.get("ops_per_cpu_s"):
        return None
    return float(cell["ops_per_cpu_s"])


def head_to_head(
    table: dict[str, dict[str, dict[str, Any]]], ours: str, peer: str
) -> tuple[int, int, float] | None:
    """Rows where ``ours`` is at or above ``peer`` per CPU-second, rows compared, and the
    geometric mean of ours/peer over the rows both ran (footprint rows left out)."""
    logs = []
    wins = 0
    for bench, cells in table.items():
        if _is_footprint(bench):
            continue
        a, b = _cpu_rate(cells.get(ours)), _cpu_rate(cells.get(peer))
        if a is None or b is None:
            continue
        logs.append(math.log(a / b))
        wins += a >= b
    if not logs:
        return None
    return wins, len(logs), math.exp(sum(logs) / len(logs))


def _cpu_summary(table: dict[str, dict[str, dict[str, Any]]], labels: list[str]) -> list[str]:
    """The matrix of ops per CPU-second relative to asyncio, then batonio against each peer."""
    widths = [max(10, len(lb) + 2) for lb in labels]
    names = "".join(f"{lb:>{cw}}" for lb, cw in zip(labels, widths, strict=True))
    out = ["", "Summary: ops per CPU-second vs asyncio (higher is better)", f"{'benchmark':<20}{names}"]
    for bench, cells in table.items():
        if _is_footprint(bench):
            continue
        row = [_ratio(cells.get("asyncio"), cells[lb], "ops_per_cpu_s", False) for lb in labels]
        out.append(f"{bench:<20}" + "".join(f"{x:>{cw}}" for x, cw in zip(row, widths, strict=True)))
    ours = [lb for lb in labels if lb.startswith("batonio")]
    peers = [lb for lb in labels if not lb.startswith("batonio")]
    if ours and peers:
        out.append("")
        out.append("Head to head, per CPU-second: rows at or above the peer / rows both ran,"
                   " geometric mean of the ratio")
        for mine in ours:
            for peer in peers:
                h2h = head_to_head(table, mine, peer)
                if h2h is not None:
                    wins, n, gmean = h2h
                    out.append(f"  {mine} vs {peer}: {wins}/{n} rows, geometric mean {gmean:.3f}x")
    return out


def _footprint_summary(table: dict[str, dict[str, dict[str, Any]]], labels: list[str]) -> list[str]:
    """One matrix of the footprint rows: bytes per object and creation time, loop by loop."""
    rows = footprint_table(table, labels)
    if not rows:
        return []
    widths = [max(14, len(lb) + 2) for lb in labels]
    names = "".join(f"{lb:>{cw}}" for lb, cw in zip(labels, widths, strict=True))
    out = ["", "Footprint: bytes per object (RSS delta / n; tracemalloc's in brackets)"]
    out.append(f"{'benchmark':<20}{names}")
    for bench, row in rows.items():
        cols = []
        for lb in labels:
            c = row[lb]
            if "error" in c:
                cols.append("-")
                continue
            traced = c["traced_bytes_per_object"]
            cols.append(_bytes(c["rss_bytes_per_object"]) + (f" [{traced:,.0f}]" if traced else ""))
        out.append(
            f"{bench:<20}" + "".join(f"{x:>{cw}}" for x, cw in zip(cols, widths, strict=True))
        )
    out.append("")
    out.append("Footprint: creation time, microseconds per object (median wall)")
    out.append(f"{'benchmark':<20}{names}")
    for bench, row in rows.items():
        cols = [
            "-" if "error" in row[lb] else f"{row[lb]['create_us_per_object']:.2f}" for lb in labels
        ]
        out.append(
            f"{bench:<20}" + "".join(f"{x:>{cw}}" for x, cw in zip(cols, widths, strict=True))
        )
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Run batonio's benchmarks on several event loops, one fresh process each.",
    )
    parser.add_argument(
        "--loop",
        action="append",
        metavar="NAME",
        help=f"loop to measure (repeatable): {', '.join(_loops.KNOWN)} or module:callable; "
        "default: all of them that import",
    )
    parser.add_argument(
        "--bench",
        action="append",
        metavar="NAME",
        choices=list(workloads.BY_NAME),
        help=f"workload (repeatable): {', '.join(workloads.BY_NAME)}; default: all",
    )
    parser.add_argument(
        "--group",
        action="append",
        metavar="NAME",
        choices=list(workloads.GROUPS),
        help=f"workload group (repeatable): {', '.join(workloads.GROUPS)}; adds to --bench",
    )
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        help="load generator of the http workload: wrk, the Python one "
        "(workloads/_http_loadgen.py), or auto (wrk when installed; the default)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="measurements per cell (default 3)")
    parser.add_argument("--quick", action="store_true", help="divide every workload size by 10")
    parser.add_argument(
        "--api",
        choices=["asyncio", "batonio", "both"],
        default="asyncio",
        help="on batonio's loops, call asyncio's API (default), batonio's own "
        "(batonio.sleep/gather/Event/Queue; label '+api'), or both",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per child process")
    parser.add_argument("--json", metavar="PATH", help="write the results here as JSON")
    parser.add_argument(
        "--no-save", action="store_true", help="do not write JSON to benchmarks/results/"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.scale = QUICK_SCALE if args.quick else 1.0
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the report; exit status 1 if no loop could run."""
    global LOADGEN
    args = parse_args(argv)
    LOADGEN = args.loadgen
    names = args.loop or _loops.DEFAULT
    benches = list(args.bench or [])
    for group in args.group or []:
        benches += [w.NAME for w in workloads.GROUPS[group] if w.NAME not in benches]
    benches = benches or list(workloads.BY_NAME)
    info = machine_info()
    usable = select_variants(names, args.api, args.timeout)
    if not usable:
        print("no loop could be created; nothing measured", file=sys.stderr)
        return 1
    variants = [v for v, _ in usable]
    probes = {v.label: p for v, p in usable}
    with ExitStack() as stack:
        tls_certificates(benches, stack)
        samples = measure(variants, benches, args.rounds, args.scale, args.timeout)
    table = {b: {lb: summarise(runs) for lb, runs in cells.items()} for b, cells in samples.items()}
    info["loadavg_end"] = loadavg()
    print(report(info, probes, table, args))

    payload = {
        "machine": info,
        "args": {k: v for k, v in vars(args).items()},
        "variants": [dict(asdict(v), probe=probes[v.label]) for v in variants],
        "summary": table,
        "footprint": footprint_table(table, list(probes)),
        "samples": samples,
    }
    paths = [Path(args.json)] if args.json else []
    if not args.no_save:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        commit = info["commit"].split()[0]
        paths.append(RESULTS / f"{stamp}-{commit}.json")
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nresults written to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
