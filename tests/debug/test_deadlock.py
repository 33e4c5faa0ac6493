"""Deadlock detection under virtual time (batonio only): ``batonio.DeadlockError``."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import time
from typing import Any

import pytest

import batonio

HERE = __file__


def _line_of(text: str) -> int:
    """The line number in this file of the first line containing ``text``."""
    with open(HERE) as f:
        for number, line in enumerate(f, 1):
            if text in line and "_line_of" not in line:
                return number
    raise AssertionError(text)


async def _two_waiting_on_each_other() -> None:
    first_ready = asyncio.Event()
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def first() -> None:
        await first_ready.wait()  # marker: first waits
        queue.put_nowait(1)

    async def second() -> None:
        await queue.get()  # marker: second waits
        first_ready.set()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(first(), name="first")
        tg.create_task(second(), name="second")


def test_deadlock_raises_at_once_naming_every_task_and_line() -> None:
    """Acceptance: tasks waiting on each other forever raise DeadlockError with their lines."""
    started = time.monotonic()
    with pytest.raises(batonio.DeadlockError) as info:
        batonio.run(_two_waiting_on_each_other(), clock=batonio.VirtualClock())
    assert time.monotonic() - started < 60  # "at once": no real timeout was waited for
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "3 tasks wait forever" in message
    assert "Task 'first'" in message and "Task 'second'" in message
    assert f"{HERE}:{_line_of('marker: first waits')} in " in message
    assert f"{HERE}:{_line_of('marker: second waits')} in " in message
    assert "async with asyncio.TaskGroup() as tg" in message or "tg" in message


def test_deadlock_leaves_the_loop_clean() -> None:
    """After the error the stuck tasks are cancelled and the loop closes without complaint."""
    clock = batonio.VirtualClock()
    loop = batonio.new_event_loop(clock=clock)
    try:
        fut = loop.create_future()

        async def waiter() -> None:
            await fut

        task = loop.create_task(waiter(), name="stuck")
        with pytest.raises(batonio.DeadlockError, match="Task 'stuck'"):
            loop.run_until_complete(task)
        assert task.cancelled()
        assert fut.cancelled()
        assert not asyncio.all_tasks(loop)
    finally:
        loop.close()
    gc.collect()


def test_bare_future_never_resolved() -> None:
    """run_until_complete on a future nothing resolves is a deadlock too."""
    loop = batonio.new_event_loop(clock=batonio.VirtualClock())
    try:
        fut = loop.create_future()
        with pytest.raises(batonio.DeadlockError, match="nothing can complete"):
            loop.run_until_complete(fut)
    finally:
        loop.close()


def test_no_deadlock_while_a_socket_is_watched() -> None:
    """A watched fd could deliver I/O: the loop waits for it instead of raising."""

    async def main() -> bytes:
        import socket

        a, b = socket.socketpair()
        try:
            reader, writer = await asyncio.open_connection(sock=a)
            import threading

            sender = threading.Thread(target=_send_later, args=(b,))  # not an executor job
            sender.start()
            data = await reader.read(3)
            sender.join()
            writer.close()
            await writer.wait_closed()
            return data
        finally:
            b.close()

    assert batonio.run(main(), clock=batonio.VirtualClock()) == b"abc"


def test_no_deadlock_without_virtual_time() -> None:
    """Without a virtual clock, nothing is detected (a timeout ends the wait instead)."""

    async def main() -> str:
        try:
            await asyncio.wait_for(asyncio.Event().wait(), 0.01)
        except TimeoutError:
            return "timeout"
        return "no"

    assert batonio.run(main()) == "timeout"


def test_deadlock_with_task_catching_cancellation() -> None:
    """A task that waits again after its cancellation is left alone; the error still comes."""

    async def stubborn() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.Event().wait()

    async def main() -> None:
        await stubborn()

    loop = batonio.new_event_loop(clock=batonio.VirtualClock())
    try:
        with pytest.raises(batonio.DeadlockError, match="stubborn"):
            loop.run_until_complete(main())
    finally:
        for task in asyncio.all_tasks(loop):
            task._log_destroy_pending = False  # left stuck on purpose
        loop.close()


def test_deadlock_under_python_m_batonio(tmp_path: Any) -> None:
    """``--virtual-time`` makes a stuck program fail with the report instead of hanging."""
    prog = tmp_path / "stuck.py"
    prog.write_text(
        "import asyncio\n"
        "async def main():\n"
        "    await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "batonio", "--virtual-time", str(prog)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "DeadlockError" in proc.stderr
    assert f"{prog}:3 in main: await asyncio.Event().wait()" in proc.stderr


def _send_later(sock: Any) -> None:
    time.sleep(0.02)
    sock.send(b"abc")


def test_run_forever_with_nothing_to_do() -> None:
    """run_forever under virtual time with nothing that could ever happen raises too."""
    loop = batonio.new_event_loop(clock=batonio.VirtualClock())
    try:
        with pytest.raises(batonio.DeadlockError):
            loop.run_forever()
        assert not loop.is_running()
        loop.call_later(5, loop.stop)  # the loop is usable afterwards
        loop.run_forever()
        assert loop.time() == 5.0
    finally:
        loop.close()


def test_no_deadlock_while_a_child_process_runs() -> None:
    """A running child is watched by the loop (its exit is I/O that will arrive): no error."""

    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(0.1)")
        return await proc.wait()

    assert batonio.run(main(), clock=batonio.VirtualClock()) == 0
