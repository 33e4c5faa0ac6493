"""The blocked-loop watchdog (batonio only): ``loop.set_watchdog``, ``BATONIO_WATCHDOG``.

These tests block the loop with real ``time.sleep`` on purpose: the watchdog watches real
time.  The figures asserted are the feature's promise (report within 0.3 s of the start of
a 0.5 s block with a 0.1 s threshold), with the thread's granularity of threshold / 5.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import batonio


class _Recorder(logging.Handler):
    """Keep each record of ``batonio.watchdog`` with the moment it was emitted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[float, logging.LogRecord]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((time.monotonic(), record))


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    handler = _Recorder()
    logger = logging.getLogger("batonio.watchdog")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _planted_sleep(marks: dict[str, float]) -> None:
    marks["start"] = time.monotonic()
    time.sleep(0.5)
    marks["end"] = time.monotonic()


def test_blocking_callback_is_reported_while_it_blocks(recorder: _Recorder) -> None:
    """Acceptance: a 0.5 s sleep in a callback, 0.1 s threshold: reported with its stack in 0.3 s."""
    loop = batonio.new_event_loop()
    try:
        loop.set_watchdog(0.1)
        assert loop.get_watchdog() == 0.1
        marks: dict[str, float] = {}
        loop.call_soon(_planted_sleep, marks)
        loop.run_until_complete(batonio.sleep(0.05))
    finally:
        loop.close()
    assert len(recorder.records) >= 2, [r.getMessage() for _, r in recorder.records]
    (when, warning), (_, done) = recorder.records[:2]
    assert warning.levelno == logging.WARNING
    assert when - marks["start"] < 0.3
    assert when < marks["end"]  # before the callback returned
    text = warning.getMessage()
    assert "_planted_sleep" in text  # what runs: the callback's repr
    assert "time.sleep(0.5)" in text  # the loop thread's current stack
    assert "blocked the loop for" in done.getMessage()
    assert done.levelno == logging.WARNING
    total = float(done.getMessage().split("for ")[-1].split(" ")[0])
    assert 0.3 <= total <= 0.7


def test_blocking_task_step_names_the_task(recorder: _Recorder) -> None:
    """A task step that blocks is reported with the task's name and coroutine."""

    async def hog() -> None:
        await batonio.sleep(0)
        time.sleep(0.3)

    async def main() -> None:
        asyncio_loop = batonio.get_running_loop()
        asyncio_loop.set_watchdog(0.1)  # type: ignore[attr-defined]
        await batonio.create_task(hog(), name="the-hog")

    batonio.run(main())
    messages = [r.getMessage() for _, r in recorder.records]
    assert messages and "the-hog" in messages[0] and "hog()" in messages[0]


def test_short_steps_are_not_reported(recorder: _Recorder) -> None:
    """Many short steps and idle waits in the poller are never reported."""

    async def main() -> None:
        batonio.get_running_loop().set_watchdog(0.5)  # type: ignore[attr-defined]
        for _ in range(200):
            await batonio.sleep(0)
        await batonio.sleep(0.7)  # idle in the poller, longer than the threshold

    batonio.run(main())
    assert recorder.records == []


def test_watchdog_off_and_thread_stops() -> None:
    """set_watchdog(None) and close() stop the daemon thread."""
    loop = batonio.new_event_loop()
    try:
        loop.set_watchdog(1)
        assert any(t.name == "batonio-watchdog" for t in threading.enumerate())
        loop.set_watchdog(None)
        assert loop.get_watchdog() is None
        loop.set_watchdog(1)
    finally:
        loop.close()
    assert not any(t.name == "batonio-watchdog" for t in threading.enumerate())


def test_watchdog_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``BATONIO_WATCHDOG=SECONDS`` turns the watchdog on for every new loop."""
    monkeypatch.setenv("BATONIO_WATCHDOG", "0.25")
    loop = batonio.new_event_loop()
    try:
        assert loop.get_watchdog() == 0.25
    finally:
        loop.close()


def test_python_m_batonio_watchdog(tmp_path: Any) -> None:
    """``python -m batonio --watchdog 0.1`` reports a blocking callback on stderr."""
    prog = tmp_path / "block.py"
    prog.write_text(
        "import asyncio, time\n"
        "async def main():\n"
        "    asyncio.get_running_loop().call_soon(time.sleep, 0.3)\n"
        "    await asyncio.sleep(0.01)\n"
        "asyncio.run(main())\n"
    )
    env = dict(os.environ)
    env.pop("BATONIO_WATCHDOG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "batonio", "--watchdog", "0.1", str(prog)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert "is blocking the loop" in proc.stderr
    assert "blocked the loop for" in proc.stderr


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0, -1, float("nan"), float("inf")])
def test_bad_threshold_value(threshold: float) -> None:
    """A threshold <= 0 (or NaN, or infinite) is a ValueError; no thread is left running."""
    loop = batonio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="positive number of seconds"):
            loop.set_watchdog(threshold)
        assert loop.get_watchdog() is None
    finally:
        loop.close()


@pytest.mark.parametrize("threshold", ["1", True, [1]])
def test_bad_threshold_type(threshold: object) -> None:
    """A threshold that is not a number is a TypeError."""
    loop = batonio.new_event_loop()
    try:
        with pytest.raises(TypeError, match="number of seconds or None"):
            loop.set_watchdog(threshold)  # type: ignore[arg-type]
    finally:
        loop.close()


@pytest.mark.parametrize("value", ["0", "-2", "soon"])
def test_bad_threshold_in_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """A bad ``BATONIO_WATCHDOG`` fails the loop's creation, naming the variable."""
    monkeypatch.setenv("BATONIO_WATCHDOG", value)
    threads = threading.active_count()
    with pytest.raises(ValueError, match="BATONIO_WATCHDOG"):
        batonio.new_event_loop()
    assert threading.active_count() == threads


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_bad_threshold_on_the_command_line(value: str) -> None:
    """``--watchdog`` with a bad value exits with status 2 before running the program."""
    proc = subprocess.run(
        [sys.executable, "-m", "batonio", "--watchdog", value, "-c", "print('ran')"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "--watchdog must be" in proc.stderr
    assert "ran" not in proc.stdout


def test_watchdog_under_virtual_time(recorder: _Recorder) -> None:
    """The watchdog watches real time even when the loop's clock is virtual."""

    async def main() -> None:
        loop = batonio.get_running_loop()
        loop.set_watchdog(0.1)  # type: ignore[attr-defined]
        await batonio.sleep(3600)  # virtual: no real wait, nothing reported
        loop.call_soon(time.sleep, 0.3)
        await batonio.sleep(1)

    batonio.run(main(), clock=batonio.VirtualClock())
    messages = [r.getMessage() for _, r in recorder.records]
    assert len(messages) >= 2 and "is blocking the loop" in messages[0]


def test_watchdog_in_debug_mode(recorder: _Recorder) -> None:
    """With asyncio's debug mode on too, the watchdog still reports while the step blocks."""
    loop = batonio.new_event_loop()
    try:
        loop.set_debug(True)
        loop.slow_callback_duration = 10  # keep asyncio's own after-the-fact warning quiet
        loop.set_watchdog(0.1)
        loop.call_soon(time.sleep, 0.3)
        loop.run_until_complete(batonio.sleep(0.01))
    finally:
        loop.close()
    messages = [r.getMessage() for _, r in recorder.records]
    assert messages and "is blocking the loop" in messages[0] and "sleep" in messages[0]
