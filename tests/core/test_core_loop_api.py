"""The loop's public API and its misuse: asyncio's exception types and messages, word for word."""
from __future__ import annotations

import asyncio
import functools
import logging
import socket
import sys
import threading
import time
from typing import Any

import pytest
from tests.conftest import make_loop_factory


def _cb(*args: Any) -> None:
    pass


async def _coro_fn() -> None:
    pass


def _asyncio_semantics(loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop does not follow asyncio here")


# ------------------------------------------------------------------ callback checks
SCHEDULERS = ["call_soon", "call_soon_threadsafe", "call_later", "call_at"]


def _schedule(loop: asyncio.AbstractEventLoop, method: str, callback: Any) -> Any:
    args: tuple[Any, ...] = () if method.startswith("call_soon") else (1,)
    return getattr(loop, method)(*args, callback)


@pytest.mark.parametrize("method", SCHEDULERS)
def test_non_callable_rejected_in_debug(
    loop: asyncio.AbstractEventLoop, loop_kind: str, method: str
) -> None:
    """asyncio checks callbacks in debug mode; call_later reports itself as call_at."""
    _asyncio_semantics(loop_kind)
    loop.set_debug(True)
    name = "call_at" if method == "call_later" else method
    with pytest.raises(TypeError, match=rf"^a callable object was expected by {name}\(\), got 1$"):
        _schedule(loop, method, 1)


@pytest.mark.parametrize("method", SCHEDULERS)
def test_coroutine_function_rejected_in_debug(
    loop: asyncio.AbstractEventLoop, loop_kind: str, method: str
) -> None:
    _asyncio_semantics(loop_kind)
    loop.set_debug(True)
    name = "call_at" if method == "call_later" else method
    with pytest.raises(TypeError, match=rf"^coroutines cannot be used with {name}\(\)$"):
        _schedule(loop, method, _coro_fn)
    coro = _coro_fn()
    with pytest.raises(TypeError, match=rf"^coroutines cannot be used with {name}\(\)$"):
        _schedule(loop, method, coro)
    coro.close()


@pytest.mark.parametrize("method", SCHEDULERS)
def test_partial_of_coroutine_function_rejected_in_debug(
    loop: asyncio.AbstractEventLoop, loop_kind: str, method: str
) -> None:
    """asyncio.iscoroutinefunction sees through functools.partial."""
    _asyncio_semantics(loop_kind)
    loop.set_debug(True)
    name = "call_at" if method == "call_later" else method
    with pytest.raises(TypeError, match=rf"^coroutines cannot be used with {name}\(\)$"):
        _schedule(loop, method, functools.partial(_coro_fn))


def test_delay_and_when_none(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _asyncio_semantics(loop_kind)
    with pytest.raises(TypeError, match="^delay must not be None$"):
        loop.call_later(None, _cb)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="^when cannot be None$"):
        loop.call_at(None, _cb)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "method, args",
    [
        ("call_soon", (_cb,)),
        ("call_soon_threadsafe", (_cb,)),
        ("call_later", (1, _cb)),
        ("call_at", (1, _cb)),
        ("run_forever", ()),
        ("run_in_executor", (None, _cb)),
    ],
)
def test_closed_loop(loop: asyncio.AbstractEventLoop, method: str, args: tuple[Any, ...]) -> None:
    loop.close()
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        getattr(loop, method)(*args)


def test_closed_loop_run_until_complete_and_create_task(loop: asyncio.AbstractEventLoop) -> None:
    loop.close()
    coro = _coro_fn()
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        loop.run_until_complete(coro)
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        loop.create_task(coro)
    coro.close()
    loop.close()  # closing twice is harmless
    assert loop.is_closed()


def test_add_reader_on_closed_loop(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    a, b = socket.socketpair()
    try:
        loop.close()
        with pytest.raises(RuntimeError, match="^Event loop is closed$"):
            loop.add_reader(a, _cb)
        if loop_kind != "uvloop":
            assert loop.remove_reader(a) is False
    finally:
        a.close()
        b.close()


# ------------------------------------------------------------------ running
def test_run_forever_inside_running_loop(
    loop: asyncio.AbstractEventLoop, loop_kind: str, run: Any) -> None:
    _asyncio_semantics(loop_kind)
    if loop_kind == "asyncio" and sys.version_info[:3] == (3, 13, 0):
        pytest.skip("3.13.0's own asyncio hangs here: its nested run_until_complete re-enters the loop")
    async def main() -> None:
        with pytest.raises(RuntimeError, match="^This event loop is already running$"):
            loop.run_forever()
        coro = _coro_fn()
        with pytest.raises(RuntimeError, match="^This event loop is already running$"):
            loop.run_until_complete(coro)
        coro.close()

    run(main())


def test_run_while_another_loop_runs(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    other = make_loop_factory(loop_kind)()
    try:
        async def main() -> None:
            with pytest.raises(
                RuntimeError, match="^Cannot run the event loop while another loop is running$"
            ):
                other.run_forever()

        loop.run_until_complete(main())
    finally:
        other.close()


def test_close_running_loop(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="^Cannot close a running event loop$"):
            loop.close()

    run(main())
    assert not loop.is_closed()


def test_run_until_complete_future_of_another_loop(
    loop: asyncio.AbstractEventLoop, loop_kind: str
) -> None:
    other = make_loop_factory(loop_kind)()
    try:
        fut = other.create_future()
        with pytest.raises(
            ValueError,
            match="^The future belongs to a different loop than the one specified as the loop argument$",
        ):
            loop.run_until_complete(fut)
    finally:
        other.close()


def test_run_until_complete_result_and_exception(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def value() -> int:
        await asyncio.sleep(0)
        return 42

    async def boom() -> None:
        await asyncio.sleep(0)
        raise KeyError("boom")

    assert run(value()) == 42
    with pytest.raises(KeyError, match="boom"):
        run(boom())
    fut = loop.create_future()
    loop.call_soon(fut.set_result, "f")
    assert run(fut) == "f"
    assert not loop.is_running()


def test_run_until_complete_stopped_early(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    fut = loop.create_future()
    loop.call_soon(loop.stop)
    with pytest.raises(RuntimeError, match="^Event loop stopped before Future completed.$"):
        run(fut)


def test_run_until_complete_cancelled(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def main() -> None:
        asyncio.current_task().cancel()  # type: ignore[union-attr]
        await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        run(main())


def test_stop_runs_callbacks_scheduled_before_it(loop: asyncio.AbstractEventLoop) -> None:
    ran: list[int] = []
    loop.call_soon(ran.append, 1)
    loop.call_soon(loop.stop)
    loop.call_soon(ran.append, 2)
    loop.run_forever()
    assert ran == [1, 2]
    assert not loop.is_running()
    # A loop stopped before run_forever() runs one iteration then returns.
    loop.stop()
    loop.call_soon(ran.append, 3)
    loop.run_forever()
    assert ran == [1, 2, 3]


def test_stop_leaves_later_callbacks_for_the_next_run(
    loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _asyncio_semantics(loop_kind)
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        loop.call_soon(ran.append, "next")
        loop.stop()

    loop.call_soon(first)
    loop.run_forever()
    assert ran == ["first"]
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert ran == ["first", "next"]


def test_is_running_and_running_loop(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    assert not loop.is_running()

    async def main() -> None:
        assert loop.is_running()
        assert asyncio.get_running_loop() is loop

    run(main())
    assert not loop.is_running()
    with pytest.raises(RuntimeError, match="^no running event loop$"):
        asyncio.get_running_loop()


# ------------------------------------------------------------------ threads
def test_call_soon_threadsafe_wakes_a_sleeping_loop(loop: asyncio.AbstractEventLoop) -> None:
    """The loop waits on a timer an hour away; a thread's callback wakes it at once."""
    got: list[str] = []

    def from_thread() -> None:
        time.sleep(0.01)
        loop.call_soon_threadsafe(got.append, "hello")
        loop.call_soon_threadsafe(loop.stop)

    far = loop.call_later(3600, _cb)
    thread = threading.Thread(target=from_thread)
    t0 = time.monotonic()
    thread.start()
    loop.run_forever()
    elapsed = time.monotonic() - t0
    thread.join()
    far.cancel()
    assert got == ["hello"]
    assert elapsed < 2.0


def test_call_soon_threadsafe_from_many_threads(loop: asyncio.AbstractEventLoop) -> None:
    got: list[tuple[int, int]] = []
    n_threads, per_thread = 4, 200
    done = loop.create_future()

    def collect(item: tuple[int, int]) -> None:
        got.append(item)
        if len(got) == n_threads * per_thread:
            done.set_result(None)

    def worker(k: int) -> None:
        for i in range(per_thread):
            loop.call_soon_threadsafe(collect, (k, i))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    loop.run_until_complete(asyncio.wait_for(done, 10))
    for t in threads:
        t.join()
    for k in range(n_threads):
        assert [i for kk, i in got if kk == k] == list(range(per_thread))


# ------------------------------------------------------------------ exception handler
def _raise_value_error() -> None:
    raise ValueError("from callback")


def test_exception_handler_api(
    loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _asyncio_semantics(loop_kind)
    assert loop.get_exception_handler() is None
    with pytest.raises(TypeError, match=r"^A callable object or None is expected, got 1$"):
        loop.set_exception_handler(1)  # type: ignore[arg-type]
    seen: list[tuple[Any, dict[str, Any]]] = []

    def handler(lp: Any, ctx: dict[str, Any]) -> None:
        seen.append((lp, ctx))

    loop.set_exception_handler(handler)
    assert loop.get_exception_handler() is handler
    h = loop.call_soon(_raise_value_error)
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert len(seen) == 1
    lp, ctx = seen[0]
    assert lp is loop
    assert isinstance(ctx["exception"], ValueError)
    assert ctx["message"].startswith("Exception in callback _raise_value_error()")
    assert ctx["handle"] is h
    loop.set_exception_handler(None)
    assert loop.get_exception_handler() is None


def test_default_exception_handler_logs(
    loop: asyncio.AbstractEventLoop, loop_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    _asyncio_semantics(loop_kind)
    caplog.set_level(logging.ERROR, logger="asyncio")
    loop.call_soon(_raise_value_error)
    loop.call_soon(loop.stop)
    loop.run_forever()
    records = [r for r in caplog.records if r.name == "asyncio"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert message.startswith("Exception in callback _raise_value_error()")
    assert "\nhandle: <Handle _raise_value_error()" in message
    assert record.exc_info is not None and record.exc_info[0] is ValueError
    caplog.clear()
    # Called directly: the message, then the other keys sorted, each "key: repr".
    loop.call_exception_handler({"message": "oops", "zeta": 1, "alpha": "a"})
    assert caplog.records[0].getMessage() == "oops\nalpha: 'a'\nzeta: 1"
    caplog.clear()
    loop.call_exception_handler({})
    assert caplog.records[0].getMessage() == "Unhandled exception in event loop"


def test_default_exception_handler_direct(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    try:
        raise RuntimeError("direct")
    except RuntimeError as exc:
        err = exc
    loop.default_exception_handler({"message": "m", "exception": err, "b": 2})
    rec = caplog.records[0]
    assert rec.getMessage() == "m\nb: 2"
    assert rec.exc_info is not None and rec.exc_info[1] is err


def test_failing_exception_handler_is_logged(
    loop: asyncio.AbstractEventLoop, loop_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")

    def bad_handler(lp: Any, ctx: dict[str, Any]) -> None:
        raise ZeroDivisionError("handler")

    loop.set_exception_handler(bad_handler)
    loop.call_exception_handler({"message": "original"})
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith("Unhandled error in exception handler")
    assert "context: {'message': 'original'}" in messages[0]


def test_exception_in_task_reaches_handler(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx))

    def raises_base() -> None:
        raise KeyboardInterrupt

    # KeyboardInterrupt escapes the loop instead of reaching the handler.
    loop.call_soon(raises_base)
    with pytest.raises(KeyboardInterrupt):
        loop.run_forever()
    assert seen == []
    assert not loop.is_running()


# ------------------------------------------------------------------ misc API
def test_create_future_and_time(loop: asyncio.AbstractEventLoop) -> None:
    fut = loop.create_future()
    assert asyncio.isfuture(fut)
    assert fut.get_loop() is loop
    t1 = loop.time()
    t2 = loop.time()
    assert t2 >= t1
    fut.cancel()


def test_is_abstract_event_loop(loop: asyncio.AbstractEventLoop) -> None:
    assert isinstance(loop, asyncio.AbstractEventLoop)


def test_batonio_loop_repr() -> None:
    import batonio

    loop = batonio.new_event_loop()
    try:
        assert repr(loop) == "<EventLoop running=False closed=False debug=False>"
    finally:
        loop.close()
    assert repr(loop) == "<EventLoop running=False closed=True debug=False>"
