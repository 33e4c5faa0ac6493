"""Virtual time (batonio only): ``VirtualClock``, ``clock=`` on every entry point, autojump.

Each test runs on batonio's loop, compiled or interpreted as the suite runs.  Nothing here
waits for real time except the executor tests, which wait a few hundredths of a second on
purpose: virtual time must wait for a thread in real time.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import time
from typing import Any

import pytest

import batonio


def test_sleep_an_hour_takes_no_real_time() -> None:
    """An hour of sleep ends with loop.time() exactly an hour later, without waiting."""

    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(3600)
        return start, loop.time()

    started = time.monotonic()
    start, end = batonio.run(main(), clock=batonio.VirtualClock())
    assert (start, end) == (0.0, 3600.0)
    assert time.monotonic() - started < 60  # an hour of real time would fail this


def test_start_value_is_the_first_time() -> None:
    """``VirtualClock(start)`` is what loop.time() reads before any jump."""

    async def main() -> float:
        return asyncio.get_running_loop().time()

    assert batonio.run(main(), clock=batonio.VirtualClock(100.5)) == 100.5


def test_timers_fire_in_deadline_order() -> None:
    """Sleeps of many lengths finish in order of their deadline, ties in start order."""
    order: list[int] = []

    async def sleeper(i: int, delay: float) -> None:
        await asyncio.sleep(delay)
        order.append(i)

    delays = [5, 1, 3, 1, 2, 0, 4]

    async def main() -> None:
        await asyncio.gather(*(sleeper(i, d) for i, d in enumerate(delays)))

    batonio.run(main(), clock=batonio.VirtualClock())
    assert order == sorted(range(len(delays)), key=lambda i: (delays[i], i))


def _timeout_program(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Run n tasks sleeping up to an hour with wait_for/timeout deadlines; return (got, expected)."""
    rng = random.Random(seed)
    plan = [(i, rng.uniform(0, 3600), rng.choice(["plain", "wait_for", "timeout"]), rng.uniform(0, 3600)) for i in range(n)]
    out: list[tuple[float, int, str]] = []

    async def one(i: int, delay: float, kind: str, limit: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            if kind == "plain":
                await asyncio.sleep(delay)
            elif kind == "wait_for":
                await asyncio.wait_for(asyncio.sleep(delay), limit)
            else:
                async with asyncio.timeout(limit):
                    await asyncio.sleep(delay)
            out.append((loop.time(), i, "done"))
        except TimeoutError:
            out.append((loop.time(), i, "timeout"))

    async def main() -> None:
        await asyncio.gather(*(one(*p) for p in plan))

    batonio.run(main(), clock=batonio.VirtualClock())
    expected = []
    for i, delay, kind, limit in plan:
        if kind != "plain" and limit < delay:
            expected.append((limit, i, "timeout"))
        else:
            expected.append((delay, i, "done"))
    expected.sort()
    got = [f"{i} {what}" for _, i, what in out]
    # Every task ends at its own deadline, to the clock's precision.
    for (when, i, _), (exp_when, exp_i, _) in zip(sorted(out, key=lambda r: r[1]), sorted(expected, key=lambda r: r[1]), strict=True):
        assert i == exp_i and math.isclose(when, exp_when, abs_tol=1e-6)
    return got, [f"{i} {what}" for _, i, what in expected]


def test_ten_thousand_sleepers_with_deadlines() -> None:
    """Acceptance: 10,000 tasks sleeping up to an hour, with wait_for/timeout deadlines among them."""
    started = time.monotonic()
    got, expected = _timeout_program(10_000, seed=11)
    assert got == expected
    assert time.monotonic() - started < 60


def test_same_output_as_real_time() -> None:
    """The same program, scaled to milliseconds, gives the same output on stock asyncio."""
    # Delays on a 40 ms grid, the deadline half-way between two grid points: in real time
    # the stock loop would have to be 20 ms late to swap a sleep and a deadline.
    delays = [0.04 * k for k in range(1, 16)]
    random.Random(5).shuffle(delays)

    async def program(scale: float) -> list[str]:
        out: list[str] = []

        async def one(i: int, d: float) -> None:
            try:
                await asyncio.wait_for(asyncio.sleep(d * scale), 0.30 * scale)
                out.append(f"{i} done")
            except TimeoutError:
                out.append(f"{i} timeout")

        await asyncio.gather(*(one(i, d) for i, d in enumerate(delays)))
        return out

    virtual = batonio.run(program(3600.0), clock=batonio.VirtualClock())
    # The real-time oracle is noisy on a busy machine (a 20 ms stall really swaps a sleep
    # and a deadline): it gets up to three tries to be on time.
    reals = []
    for _ in range(3):
        with asyncio.Runner() as runner:
            reals.append(runner.run(program(1.0)))
        if reals[-1] == virtual:
            break
    assert virtual in reals


def test_new_event_loop_and_event_loop_accept_clock() -> None:
    """``new_event_loop(clock=)`` and ``EventLoop(clock=)`` make loop.time() virtual."""
    for make in (batonio.new_event_loop, batonio.EventLoop):
        clock = batonio.VirtualClock(7.0)
        loop = make(clock=clock)
        try:
            assert loop.time() == 7.0
            loop.run_until_complete(asyncio.sleep(10))
            assert loop.time() == 17.0 == clock.time()
            assert "virtual_time=True" in repr(loop)
        finally:
            loop.close()


def test_runner_accepts_clock() -> None:
    """``Runner(clock=)`` keeps one virtual clock across its runs."""
    clock = batonio.VirtualClock()
    with batonio.Runner(clock=clock) as runner:
        runner.run(asyncio.sleep(2))
        runner.run(asyncio.sleep(3))
    assert clock.time() == 5.0


def test_advance_moves_time_by_hand() -> None:
    """``clock.advance(s)`` makes the timers it passes due on the next iteration."""
    clock = batonio.VirtualClock()

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        events: list[str] = []
        loop.call_later(5, events.append, "five")
        clock.advance(4)
        await asyncio.sleep(0)
        events.append(f"t={loop.time()}")
        clock.advance(1)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return events

    assert batonio.run(main(), clock=clock) == ["t=4.0", "five"]


def test_executor_job_is_waited_for_in_real_time() -> None:
    """``wait_for(to_thread(...), 5)`` does not time out: time follows the thread's real time."""

    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await asyncio.wait_for(asyncio.to_thread(_slow, 0.05, "ok"), 5)
        return result, loop.time() - start

    result, elapsed = batonio.run(main(), clock=batonio.VirtualClock())
    assert result == "ok"
    assert 0 < elapsed < 5  # the clock followed the real wait (a little under 0.05 s or more)


def test_executor_job_with_sleeping_task_beside_it() -> None:
    """A long virtual sleep beside a thread job does not jump while the job runs."""

    async def main() -> list[str]:
        order: list[str] = []

        async def sleeper() -> None:
            await asyncio.sleep(60)
            order.append("sleeper")

        async def worker() -> None:
            await asyncio.get_running_loop().run_in_executor(None, _slow, 0.05, None)
            order.append("worker")

        await asyncio.gather(sleeper(), worker())
        return order

    assert batonio.run(main(), clock=batonio.VirtualClock()) == ["worker", "sleeper"]


def test_getaddrinfo_is_an_executor_job() -> None:
    """getaddrinfo runs in the executor: a timeout around it counts real time."""

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM), 5)

    infos = batonio.run(main(), clock=batonio.VirtualClock())
    assert infos[0][4] == ("127.0.0.1", 80)


def test_autojump_threshold_waits_for_real_idleness() -> None:
    """With a threshold, I/O arriving within it is served before time jumps."""

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        rsock, wsock = socket.socketpair()
        order: list[str] = []
        try:
            reader, writer = await asyncio.open_connection(sock=rsock)
            loop.call_soon_threadsafe(lambda: None)

            async def sleeper() -> None:
                await asyncio.sleep(1)
                order.append("timer")

            async def read() -> None:
                order.append((await reader.read(5)).decode())

            task = asyncio.create_task(sleeper())
            reading = asyncio.create_task(read())
            await asyncio.sleep(0)
            wsock.send(b"hello")
            await asyncio.gather(task, reading)
            writer.close()
            await writer.wait_closed()
        finally:
            wsock.close()
        return order

    assert batonio.run(main(), clock=batonio.VirtualClock(autojump_threshold=0.5)) == ["hello", "timer"]


def test_python_m_batonio_virtual_time(tmp_path: Any) -> None:
    """``python -m batonio --virtual-time prog.py`` runs an hour of sleeps at once."""
    import subprocess
    import sys

    prog = tmp_path / "prog.py"
    prog.write_text(
        "import asyncio\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    await asyncio.sleep(3600)\n"
        "    print(loop.time())\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "batonio", "--virtual-time", str(prog)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3600.0"


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [-1, -0.001, math.nan, math.inf])
def test_bad_autojump_threshold(threshold: float) -> None:
    """A negative or NaN threshold is a ValueError naming it."""
    with pytest.raises(ValueError, match="autojump_threshold"):
        batonio.VirtualClock(autojump_threshold=threshold)


def test_bad_autojump_threshold_type() -> None:
    """A threshold that is not a number is a TypeError naming it."""
    with pytest.raises(TypeError, match="autojump_threshold"):
        batonio.VirtualClock(autojump_threshold="1")  # type: ignore[arg-type]


@pytest.mark.parametrize("clock", [42, "virtual", object()])
def test_clock_without_the_interface(clock: object) -> None:
    """A clock= object without time() is a TypeError naming the object, on every entry point."""
    with pytest.raises(TypeError, match="clock must be"):
        batonio.new_event_loop(clock=clock)
    with pytest.raises(TypeError, match="clock must be"):
        batonio.EventLoop(clock=clock)
    coro = asyncio.sleep(0)
    with pytest.raises(TypeError, match="clock must be"):
        batonio.run(coro, clock=clock)
    coro.close()


def test_clock_class_instead_of_instance() -> None:
    """Passing the VirtualClock class says to pass an instance."""
    with pytest.raises(TypeError, match="pass an instance"):
        batonio.new_event_loop(clock=batonio.VirtualClock)


def test_clock_shared_by_two_open_loops() -> None:
    """One clock serves one loop at a time: a second open loop is refused, then allowed."""
    clock = batonio.VirtualClock()
    first = batonio.new_event_loop(clock=clock)
    try:
        with pytest.raises(RuntimeError, match="already the clock"):
            batonio.new_event_loop(clock=clock)
    finally:
        first.close()
    second = batonio.new_event_loop(clock=clock)
    second.close()


@pytest.mark.parametrize("seconds", [-1, math.inf, math.nan])
def test_advance_refuses_negative_or_endless_time(seconds: float) -> None:
    """Time never goes backwards, and never to the end of time."""
    clock = batonio.VirtualClock()
    with pytest.raises(ValueError, match="advance"):
        clock.advance(seconds)
    assert clock.time() == 0.0


@pytest.mark.parametrize("start", [math.inf, math.nan, "0", None])
def test_bad_start(start: object) -> None:
    """The start time must be a finite number."""
    with pytest.raises(TypeError, match="start"):
        batonio.VirtualClock(start)  # type: ignore[arg-type]


def test_clock_with_loop_factory_is_refused() -> None:
    """clock= with loop_factory= is ambiguous: a ValueError says what to do."""
    with pytest.raises(ValueError, match="loop_factory"):
        batonio.Runner(clock=batonio.VirtualClock(), loop_factory=batonio.new_event_loop)


def _slow(seconds: float, result: Any) -> Any:
    time.sleep(seconds)
    return result


def test_threshold_setter_checks_its_value() -> None:
    """The threshold can be changed later, with the constructor's checks."""
    clock = batonio.VirtualClock()
    clock.autojump_threshold = 0.25
    assert clock.autojump_threshold == 0.25
    with pytest.raises(ValueError, match="autojump_threshold"):
        clock.autojump_threshold = -1


def test_advance_from_another_thread_wakes_the_loop() -> None:
    """A loop waiting out its autojump threshold sees an advance() made from a thread at once."""
    import threading

    clock = batonio.VirtualClock(autojump_threshold=30)  # would wait 30 real seconds

    async def main() -> float:
        loop = asyncio.get_running_loop()
        timer = threading.Timer(0.05, clock.advance, (10,))
        timer.start()
        try:
            await asyncio.sleep(10)
        finally:
            timer.join()
        return loop.time()

    started = time.monotonic()
    assert batonio.run(main(), clock=clock) == 10.0
    assert time.monotonic() - started < 20


def _nan_timer_outcome(**kwargs: Any) -> str:
    loop = batonio.new_event_loop(**kwargs)
    ran: list[str] = []
    try:
        loop.call_later(math.nan, ran.append, "ran")
        loop.call_later(0.01, loop.stop)
        try:
            loop.run_forever()
        except ValueError as exc:
            return f"ValueError: {exc}"
        return ",".join(ran) or "not run"
    finally:
        loop.close()


def test_nan_timer_as_without_virtual_time() -> None:
    """A timer due at NaN behaves under virtual time (and chaos) as on the plain loop."""
    plain = _nan_timer_outcome()
    assert _nan_timer_outcome(clock=batonio.VirtualClock()) == plain
    assert _nan_timer_outcome(chaos_seed=1) == plain
