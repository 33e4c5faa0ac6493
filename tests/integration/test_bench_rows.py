"""The issue-12 benchmark rows run and check what they claim: UDP echo, uvicorn, footprint.

Each runs small on asyncio and batonio (``arun``; ``make test`` repeats the directory with the
pure build), and a small ``run.py`` run shows the footprint table and writes it, with the
machine, Python and commit, to the JSON.  Timings and sizes are never asserted: benchmarks are
measurements, not test gates.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _integ import require

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import workloads  # noqa: E402
from workloads import footprint, udp_echo, uvicorn_hello  # noqa: E402

Run = Callable[..., Any]


@pytest.mark.parametrize("name", [w.NAME for w in workloads.GROUPS["udp"]])
def test_udp_echo_cell(arun: Run, name: str) -> None:
    assert arun(workloads.BY_NAME[name].run(asyncio, 50)) == 50


def test_udp_echo_detects_corruption(arun: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that changes the datagram must fail the run, not make it look fast."""

    def corrupt(self: Any, data: bytes, addr: Any) -> None:
        self.transport.sendto(bytes([data[0] ^ 0xFF]) + data[1:], addr)

    monkeypatch.setattr(udp_echo._EchoServer, "datagram_received", corrupt)
    with pytest.raises(AssertionError, match="came back different"):
        arun(udp_echo.WORKLOADS[0].run(asyncio, 5))


@pytest.fixture(params=["python", "wrk"])
def loadgen(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each load generator the HTTP rows can use (wrk only where it is installed)."""
    if request.param == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make wrk)")
    monkeypatch.setenv("BATONIO_BENCH_LOADGEN", request.param)
    yield request.param


def test_uvicorn_hello(arun: Run, loadgen: str) -> None:
    require("uvicorn")
    require("httptools")
    assert arun(uvicorn_hello.run(asyncio, 300)) == 300


@pytest.mark.parametrize("work", footprint.WORKLOADS, ids=lambda w: w.NAME)
def test_footprint_row(arun: Run, work: footprint.FootprintWorkload) -> None:
    n = 50 if work.NAME.endswith("tcp_idle") else 500
    assert arun(work.run(asyncio, n)) == n
    result = arun(work.measure(asyncio, n))
    assert result["ops"] == n
    assert result["wall"] > 0 and result["cpu"] >= 0
    assert result["rss_after"] > 0 and "rss_per_object" in result
    assert result["traced_per_object"] > 0  # the objects were really alive when traced


def test_pending_timers_must_not_fire(arun: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """A loop that fired a timer an hour early must fail the row."""
    monkeypatch.setattr(footprint, "_HOUR", 0.0)
    with pytest.raises(AssertionError, match="fired an hour early"):
        arun(footprint.WORKLOADS[1].run(asyncio, 20))


def test_run_reports_footprint_and_machine(tmp_path: Path) -> None:
    """run.py prints the footprint table and writes it, machine and commit, to the JSON."""
    out = tmp_path / "bench.json"
    loops = ["--loop", "asyncio", "--loop", "batonio"]
    benches = ["--bench", "footprint_timers", "--bench", "udp_echo_1k_c1"]
    cmd = [sys.executable, str(BENCHMARKS / "run.py"), *loops, *benches]
    cmd += ["--quick", "--rounds", "1", "--json", str(out), "--no-save"]
    env = dict(os.environ)
    env.pop("BATONIO_NO_EXTENSIONS", None)  # the batonio label means compiled if built
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Footprint: bytes per object" in proc.stdout
    assert "Footprint: creation time" in proc.stdout
    assert "ops/CPU-s" in proc.stdout and "objs/CPU-s" in proc.stdout
    data = json.loads(out.read_text())
    machine = data["machine"]
    for key in ("hostname", "cpu", "nproc", "python", "python_build", "commit", "commit_full"):
        assert machine[key], key
    row = data["footprint"]["footprint_timers"]
    assert set(row) == {"asyncio", "batonio"}
    for cell in row.values():
        assert cell["objects"] == 10_000
        assert {"rss_bytes_per_object", "traced_bytes_per_object", "create_ms"} <= set(cell)
    udp = data["summary"]["udp_echo_1k_c1"]["batonio"]
    assert udp["ops"] == 2_000 and udp["wall_min"] <= udp["wall"] <= udp["wall_max"]
