"""batonio's ``to_thread``, ``wrap_future`` and ``run_coroutine_threadsafe``."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from typing import Any

import pytest

from batonio._api import _taskutils as bt

var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")


def test_to_thread(run: Any, loop: asyncio.AbstractEventLoop) -> None:
    def work(a: int, *, b: int) -> tuple[int, str, bool]:
        return a + b, var.get(), threading.current_thread() is threading.main_thread()

    async def main() -> Any:
        var.set("copied")
        return await bt.to_thread(work, 1, b=2)
    assert run(main()) == (3, "copied", False)
    run(loop.shutdown_default_executor())


def test_to_thread_exception(run: Any, loop: asyncio.AbstractEventLoop) -> None:
    def boom() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        run(bt.to_thread(boom))
    run(loop.shutdown_default_executor())


def test_wrap_future(run: Any) -> None:
    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            assert await bt.wrap_future(pool.submit(lambda: 5)) == 5
            with pytest.raises(ZeroDivisionError):
                await bt.wrap_future(pool.submit(lambda: 1 / 0))
        fut = asyncio.get_running_loop().create_future()
        assert bt.wrap_future(fut) is fut
        fut.cancel()
        with pytest.raises(AssertionError, match="concurrent.futures.Future is expected"):
            bt.wrap_future(object())
    run(main())


def test_wrap_future_cancel_both_ways(run: Any) -> None:
    async def main() -> None:
        source: concurrent.futures.Future[int] = concurrent.futures.Future()
        wrapped = bt.wrap_future(source)
        wrapped.cancel()
        await asyncio.sleep(0)
        assert source.cancelled()

        source2: concurrent.futures.Future[int] = concurrent.futures.Future()
        wrapped2 = bt.wrap_future(source2)
        source2.cancel()
        with pytest.raises(asyncio.CancelledError):
            await wrapped2
    run(main())


def test_run_coroutine_threadsafe(loop: asyncio.AbstractEventLoop) -> None:
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    async def fail() -> None:
        raise KeyError("k")

    results: list[Any] = []

    def worker() -> None:
        try:
            results.append(bt.run_coroutine_threadsafe(double(21), loop).result(5))
            with pytest.raises(KeyError):
                bt.run_coroutine_threadsafe(fail(), loop).result(5)
            cf = bt.run_coroutine_threadsafe(asyncio.sleep(10), loop)
            with pytest.raises(TimeoutError):
                cf.result(0.005)
            cf.cancel()
            results.append(cf.cancelled())
        finally:
            loop.call_soon_threadsafe(loop.stop)

    th = threading.Thread(target=worker)
    th.start()
    loop.run_forever()
    th.join(5)
    # Let the cancelled sleep task finish.
    loop.run_until_complete(asyncio.sleep(0.001))
    assert results == [42, True]
    assert not asyncio.all_tasks(loop)


def test_run_coroutine_threadsafe_type_error(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError, match="A coroutine object is required"):
        bt.run_coroutine_threadsafe(lambda: None, loop)  # type: ignore[arg-type]
