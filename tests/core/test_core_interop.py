"""batonio's futures, tasks and loop mixed with stdlib asyncio's, and the build guard."""
from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import os
import sys
import threading
from typing import Any

import pytest

import batonio


@pytest.fixture
def bloop() -> Any:
    loop = batonio.new_event_loop()
    try:
        yield loop
    finally:
        if not loop.is_closed():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        asyncio.set_event_loop(None)


def test_loop_is_abstract_event_loop(bloop: Any) -> None:
    assert isinstance(bloop, asyncio.AbstractEventLoop)
    assert isinstance(bloop, batonio.EventLoop)


def test_batonio_objects_pass_asyncio_checks(bloop: Any) -> None:
    fut = bloop.create_future()
    assert type(fut).__module__.startswith("batonio")
    assert isinstance(fut, asyncio.Future)
    assert asyncio.isfuture(fut)
    assert asyncio.ensure_future(fut, loop=bloop) is fut
    coro = asyncio.sleep(0)
    task = asyncio.ensure_future(coro, loop=bloop)
    assert isinstance(task, asyncio.Task)
    assert type(task).__module__.startswith("batonio")
    bloop.run_until_complete(task)
    fut.cancel()


def test_stdlib_task_awaits_batonio_future(bloop: Any) -> None:
    async def main() -> Any:
        fut = bloop.create_future()
        assert type(fut).__module__.startswith("batonio")

        async def waiter() -> Any:
            return await fut

        stdlib_task = asyncio.tasks._PyTask(waiter(), loop=bloop)
        bloop.call_soon(fut.set_result, "from batonio")
        return await stdlib_task

    assert bloop.run_until_complete(main()) == "from batonio"


def test_stdlib_c_task_awaits_batonio_future(bloop: Any) -> None:
    fut = bloop.create_future()

    async def waiter() -> Any:
        return await fut

    task = asyncio.tasks._CTask(waiter(), loop=bloop)
    bloop.call_soon(fut.set_result, 9)
    assert bloop.run_until_complete(task) == 9


def test_batonio_task_awaits_asyncio_future(bloop: Any) -> None:
    async def main() -> Any:
        afut = asyncio.Future(loop=bloop)
        assert not type(afut).__module__.startswith("batonio")
        bloop.call_soon(afut.set_result, "stdlib")
        got = await afut
        cancelled = asyncio.Future(loop=bloop)
        bloop.call_soon(cancelled.cancel)
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        return got

    task = bloop.create_task(main())
    assert type(task).__module__.startswith("batonio")
    assert bloop.run_until_complete(task) == "stdlib"


def test_cancel_batonio_task_waiting_on_asyncio_future(bloop: Any) -> None:
    afut = asyncio.Future(loop=bloop)

    async def waiter() -> None:
        await afut

    async def main() -> None:
        t = bloop.create_task(waiter())
        await asyncio.sleep(0)
        t.cancel("bye")
        with pytest.raises(asyncio.CancelledError):
            await t
        assert afut.cancelled()

    bloop.run_until_complete(main())


def test_batonio_task_awaits_concurrent_future(bloop: Any) -> None:
    async def main() -> Any:
        cfut: concurrent.futures.Future[int] = concurrent.futures.Future()
        threading.Timer(0.005, cfut.set_result, (11,)).start()
        return await asyncio.wrap_future(cfut, loop=bloop)

    assert bloop.run_until_complete(main()) == 11


def test_current_task_and_all_tasks(bloop: Any) -> None:
    async def child() -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        me = asyncio.current_task()
        assert type(me).__module__.startswith("batonio")
        t = bloop.create_task(child())
        assert asyncio.all_tasks() == {me, t}
        assert asyncio.all_tasks(bloop) == {me, t}
        await t
        assert asyncio.all_tasks() == {me}

    bloop.run_until_complete(main())
    assert asyncio.current_task(bloop) is None


def test_batonio_task_on_stdlib_loop() -> None:
    """Our Task also drives a coroutine on a stock asyncio loop, through call_soon."""
    loop = asyncio.SelectorEventLoop()
    try:
        async def main() -> int:
            await asyncio.sleep(0)
            fut = loop.create_future()
            loop.call_soon(fut.set_result, 4)
            return await fut  # type: ignore[no-any-return]

        task = batonio.Task(main(), loop=loop)
        assert loop.run_until_complete(task) == 4
    finally:
        loop.close()


def test_runner_with_batonio_loop_factory() -> None:
    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    with asyncio.Runner(loop_factory=batonio.new_event_loop) as runner:
        assert runner.run(main()).startswith("batonio")
        assert isinstance(runner.get_loop(), batonio.EventLoop)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is 3.12+")
def test_asyncio_run_with_batonio_loop_factory() -> None:
    async def main() -> bool:
        return isinstance(asyncio.get_running_loop(), batonio.EventLoop)

    assert asyncio.run(main(), loop_factory=batonio.new_event_loop) is True


def test_runner_cancels_leftover_tasks() -> None:
    cancelled: list[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        asyncio.get_running_loop().create_task(forever())
        await asyncio.sleep(0)

    with asyncio.Runner(loop_factory=batonio.new_event_loop) as runner:
        runner.run(main())
    assert cancelled == [True]


# ------------------------------------------------------------------ the build guard
def _compiled_build_present() -> bool:
    core = os.path.dirname(batonio._core.__file__)  # type: ignore[attr-defined]
    return bool(glob.glob(os.path.join(core, "_scheduler_c*.so")))


def test_compiled_modules_loaded_when_expected() -> None:
    """Fail when a build that should be compiled silently fell back to Python."""
    from batonio._core import _futures, _scheduler  # type: ignore[attr-defined]

    no_ext = bool(os.environ.get("BATONIO_NO_EXTENSIONS"))
    expect = os.environ.get("BATONIO_EXPECT_COMPILED") == "1" or (
        not no_ext and _compiled_build_present() and sys.implementation.name == "cpython"
    )
    if no_ext:
        pytest.skip("BATONIO_NO_EXTENSIONS is set")
    if not expect:
        pytest.skip("no compiled build present")
    assert batonio.EXTENSIONS is True
    assert _scheduler.__name__.endswith("_scheduler_c")
    assert _futures.__name__.endswith("_futures_c")
    assert not _scheduler.__file__.endswith(".py")
    assert type(batonio.Future) is type and batonio.Future.__module__.endswith("_futures_c")


def test_interpreted_build_when_extensions_disabled() -> None:
    if not os.environ.get("BATONIO_NO_EXTENSIONS"):
        pytest.skip("BATONIO_NO_EXTENSIONS is not set")
    from batonio._core import _scheduler  # type: ignore[attr-defined]

    assert batonio.EXTENSIONS is False
    assert _scheduler.__file__.endswith("_scheduler_py.py")
    assert batonio.Future.__module__ == "batonio._core._futures_py"
    # A plain Python class: it has a __dict__-backed namespace and Python-level methods.
    assert type(batonio.Future.done).__name__ == "function"
    assert type(batonio.Handle._run).__name__ == "function"
