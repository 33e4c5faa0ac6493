"""The I/O benchmark workloads and the soak script work, and check what they claim to check.

Each TCP echo cell and the HTTP keep-alive workload run at a small size on asyncio and
batonio (their results are verified by the workloads themselves); the soak script runs for a
couple of seconds in a subprocess and must pass, and a corrupting echo server must make it
fail.  The TLS echo cells and handshakes likewise; the TLS soak runs small and must pass, and
an fd kept open must make it fail.  Timings are not looked at: benchmarks are measurements, never test gates.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _integ import loop_class_name, require

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import soak  # noqa: E402
import workloads  # noqa: E402
from workloads import http_keepalive  # noqa: E402

Run = Callable[..., Any]

TCP_CELLS = [w.NAME for w in workloads.GROUPS["tcp"]]
TLS_CELLS = [w.NAME for w in workloads.GROUPS["tls"]]


@pytest.mark.parametrize("name", TCP_CELLS)
def test_tcp_echo_cell(arun: Run, name: str) -> None:
    work = workloads.BY_NAME[name]
    n = 30
    assert arun(work.run(asyncio, n)) == n


@pytest.mark.parametrize("name", [w.NAME for w in workloads.GROUPS["proc"]])
def test_spawn_workload(arun: Run, name: str) -> None:
    """The subprocess workloads spawn, await and check a batch that is not a multiple of 200."""
    assert arun(workloads.BY_NAME[name].run(asyncio, 7)) == 7


def test_spawn_workload_checks_returncodes(arun: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wrong returncode must fail the workload, not make it look fast."""
    from workloads import subprocess_spawn

    real = asyncio.create_subprocess_exec

    async def lying(*args: Any, **kwargs: Any) -> Any:
        return await real("/bin/sh", "-c", "exit 1", **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", lying)
    with pytest.raises(AssertionError, match="exited 1"):
        arun(subprocess_spawn.WORKLOADS[0].run(asyncio, 3))


@pytest.mark.parametrize("name", TLS_CELLS)
def test_tls_cell(arun: Run, name: str) -> None:
    require("trustme")
    work = workloads.BY_NAME[name]
    n = 20
    assert arun(work.run(asyncio, n)) == n


def test_tls_soak_script_passes(loop_kind: str) -> None:
    require("trustme")
    cmd = [sys.executable, str(BENCHMARKS / "tls_soak.py"), "--loop", loop_kind]
    # A small run: 300 connections, 100 abandoned handshakes (make soak-tls: 10,000 / 1,000).
    cmd += ["--connections", "300", "--first", "100", "--abandoned", "100"]
    # Over so few connections RSS noise is a larger share; the 5% limit is make soak-tls's.
    cmd += ["--rss-limit", "0.5"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"({loop_class_name(loop_kind)}" in proc.stdout
    assert "300 sequential TLS connections" in proc.stdout
    assert "100 handshakes abandoned half-way" in proc.stdout
    assert "result: OK" in proc.stdout


def test_tls_soak_detects_a_leaked_fd(
    arun: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require("trustme")
    import tls_soak

    kept: list[socket.socket] = []
    calls = [0]
    real = tls_soak.one_connection

    async def leaky(port: int, msg: bytes) -> None:
        await real(port, msg)
        calls[0] += 1
        if calls[0] == 25:  # past the 20 of the prelude: one fd that outlives the phase
            kept.append(socket.socket())

    monkeypatch.setattr(tls_soak, "one_connection", leaky)
    monkeypatch.setattr(tls_soak, "SETTLE_TIMEOUT", 0.3)  # the leaked fd never settles
    args = tls_soak.parse_args(["--connections", "30", "--first", "10", "--abandoned", "10"])
    try:
        facts = arun(tls_soak.soak(args))
    finally:
        for sock in kept:
            sock.close()
    failures = tls_soak.report(args, "test", facts)
    assert any("fds:" in f for f in failures)
    assert "result: FAILED" in capsys.readouterr().out


@pytest.fixture(params=["python", "wrk"])
def loadgen(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each load generator the HTTP workload can use (wrk only where it is installed)."""
    if request.param == "wrk" and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (make wrk)")
    monkeypatch.setenv("BATONIO_BENCH_LOADGEN", request.param)
    yield request.param


def test_http_keepalive(arun: Run, loadgen: str) -> None:
    require("httptools")
    assert http_keepalive.load_generator() == loadgen
    assert arun(http_keepalive.run(asyncio, 300)) == 300


def test_soak_script_passes(loop_kind: str) -> None:
    cmd = [sys.executable, str(BENCHMARKS / "soak.py"), "--loop", loop_kind]
    cmd += ["--seconds", "1.5", "--conns", "30", "--max-size", "20000"]
    # RSS over 1.5 s swings with the random message sizes; the real limit is make soak's.
    cmd += ["--rss-limit", "0.5"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"({loop_class_name(loop_kind)}" in proc.stdout  # the soak ran on that loop
    assert "result: OK" in proc.stdout
    assert "mismatches 0, client errors 0" in proc.stdout


class _CorruptingEcho(soak._ProtocolEcho):
    """Echo server that flips one byte of every chunk it sends back."""

    def data_received(self, data: bytes) -> None:
        self.transport.write(bytes([data[0] ^ 0xFF]) + data[1:])


def test_soak_detects_corruption(
    arun: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(soak, "_ProtocolEcho", _CorruptingEcho)
    args = soak.parse_args(["--seconds", "0.5", "--conns", "12", "--max-size", "5000"])
    facts = arun(soak.soak(args))
    failures = soak.report(args, "test", facts)
    assert facts["stats"].mismatches > 0
    assert any("did not match" in f for f in failures)
    assert "result: FAILED" in capsys.readouterr().out
