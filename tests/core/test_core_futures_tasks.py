"""Future and Task behaviour as a user sees it, on asyncio, uvloop and batonio loops."""
from __future__ import annotations

import asyncio
import contextvars
import gc
import io
import re
import sys
import traceback
from typing import Any

import pytest

VAR: contextvars.ContextVar[str] = contextvars.ContextVar("VAR", default="unset")


# ------------------------------------------------------------------ futures
def test_future_result_and_exception(loop: asyncio.AbstractEventLoop) -> None:
    fut = loop.create_future()
    # asyncio's Python Future says "not ready", its C Future "not set": both are asyncio's.
    with pytest.raises(asyncio.InvalidStateError, match="^Result is not (ready|set).$"):
        fut.result()
    with pytest.raises(asyncio.InvalidStateError, match="^Exception is not set.$"):
        fut.exception()
    fut.set_result(5)
    assert fut.done() and not fut.cancelled()
    assert fut.result() == 5 and fut.exception() is None
    # The Python Future names the state, the C one says "invalid state".
    with pytest.raises(
        asyncio.InvalidStateError, match=r"^(FINISHED: <Future finished result=5>|invalid state)$"
    ):
        fut.set_result(6)
    with pytest.raises(asyncio.InvalidStateError, match=r"^(FINISHED: |invalid state)"):
        fut.set_exception(ValueError())
    assert fut.cancel() is False

    err = loop.create_future()
    err.set_exception(ValueError)  # a class is instantiated
    assert isinstance(err.exception(), ValueError)
    with pytest.raises(ValueError):
        err.result()
    stop = loop.create_future()
    if sys.version_info < (3, 13):
        with pytest.raises(TypeError, match="StopIteration interacts badly with generators"):
            stop.set_exception(StopIteration())
    else:
        stop.set_exception(StopIteration())
        assert isinstance(stop.exception(), RuntimeError)


def test_future_cancel_with_message(loop: asyncio.AbstractEventLoop) -> None:
    fut = loop.create_future()
    assert fut.cancel("why") is True
    assert fut.cancelled() and fut.done()
    with pytest.raises(asyncio.CancelledError, match="^why$"):
        fut.result()
    with pytest.raises(asyncio.CancelledError, match="^why$"):
        fut.exception()
    assert fut.cancel() is False
    with pytest.raises(asyncio.InvalidStateError, match=r"^(CANCELLED: <Future cancelled>|invalid state)$"):
        fut.set_result(1)


def test_future_reprs(loop: asyncio.AbstractEventLoop) -> None:
    fut = loop.create_future()
    assert repr(fut) == "<Future pending>"
    fut.set_result([1, 2])
    assert repr(fut) == "<Future finished result=[1, 2]>"
    exc = loop.create_future()
    exc.set_exception(KeyError("k"))
    assert repr(exc) == "<Future finished exception=KeyError('k')>"
    exc.exception()


def test_done_callbacks_order_context_and_removal(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    fut = loop.create_future()
    calls: list[tuple[str, str]] = []

    def cb(name: str) -> Any:
        def inner(f: Any) -> None:
            assert f is fut
            calls.append((name, VAR.get()))

        return inner

    a, b, c = cb("a"), cb("b"), cb("c")
    ctx = contextvars.copy_context()
    ctx.run(VAR.set, "in-ctx")
    VAR.set("outer")
    try:
        fut.add_done_callback(a)
        fut.add_done_callback(b, context=ctx)
        fut.add_done_callback(a)
        fut.add_done_callback(c)
        assert fut.remove_done_callback(a) == 2
        assert fut.remove_done_callback(a) == 0
        fut.set_result(None)
        assert calls == []  # callbacks run through the loop, never inline

        async def spin() -> None:
            await asyncio.sleep(0)

        run(spin())
        assert calls == [("b", "in-ctx"), ("c", "outer")]
        # Added after completion: scheduled at once.
        fut.add_done_callback(cb("late"))
        run(spin())
        assert calls[-1] == ("late", "outer")
    finally:
        VAR.set("unset")


def test_future_exception_never_retrieved(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx))
    fut = loop.create_future()
    fut.set_exception(ZeroDivisionError("lost"))
    del fut
    gc.collect()
    assert len(seen) == 1
    assert seen[0]["message"] == "Future exception was never retrieved"
    assert isinstance(seen[0]["exception"], ZeroDivisionError)
    assert "future" in seen[0]
    # Retrieved: nothing is reported.
    fut2 = loop.create_future()
    fut2.set_exception(ZeroDivisionError())
    fut2.exception()
    del fut2
    gc.collect()
    assert len(seen) == 1


# ------------------------------------------------------------------ tasks
async def _return(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


def test_task_exception_never_retrieved(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx))

    async def fail() -> None:
        raise KeyError("task")

    async def main() -> None:
        loop.create_task(fail())
        for _ in range(3):
            await asyncio.sleep(0)

    loop.run_until_complete(main())
    gc.collect()
    messages = [ctx["message"] for ctx in seen]
    assert messages == ["Task exception was never retrieved"]
    assert isinstance(seen[0]["exception"], KeyError)
    assert "task" in seen[0] or "future" in seen[0]


def test_task_destroyed_but_pending(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx))

    async def forever() -> None:
        await loop.create_future()

    async def main() -> None:
        loop.create_task(forever())
        await asyncio.sleep(0)

    loop.run_until_complete(main())
    loop.close()
    gc.collect()
    assert [ctx["message"] for ctx in seen] == ["Task was destroyed but it is pending!"]
    assert "task" in seen[0]


def test_task_result_name_coro_context(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    coro = _return(7)
    ctx = contextvars.copy_context()
    task = loop.create_task(coro, name="seven", context=ctx)
    assert isinstance(task, asyncio.Task) and isinstance(task, asyncio.Future)
    assert task.get_name() == "seven"
    task.set_name(12)
    assert task.get_name() == "12"
    assert task.get_coro() is coro
    if sys.version_info >= (3, 12) or type(task).__module__.startswith("batonio"):
        assert task.get_context() is ctx
    assert task.get_loop() is loop
    assert run(task) == 7
    default = loop.create_task(_return(1))
    assert re.fullmatch(r"Task-\d+", default.get_name())
    run(default)
    with pytest.raises(RuntimeError, match="^Task does not support set_result operation$"):
        task.set_result(1)
    with pytest.raises(RuntimeError, match="^Task does not support set_exception operation$"):
        task.set_exception(ValueError())


def test_task_requires_a_coroutine(loop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError, match="^a coroutine was expected, got 1$"):
        loop.create_task(1)  # type: ignore[arg-type]


def test_task_cancel_message_and_cancelling(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    started = loop.create_future()
    observed: list[Any] = []

    async def victim() -> None:
        started.set_result(None)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError as exc:
            observed.append(exc.args)
            observed.append(asyncio.current_task().cancelling())  # type: ignore[union-attr]
            raise

    async def main() -> None:
        task = loop.create_task(victim())
        await started
        assert task.cancel("stop it") is True
        assert task.cancelling() == 1
        assert task.cancel("again") is True
        assert task.cancelling() == 2
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        assert task.cancel() is False

    run(main())
    assert observed == [("stop it",), 2]


def test_task_uncancel(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def resilient() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            assert task is not None
            assert task.uncancel() == 0
            assert task.uncancel() == 0
        await asyncio.sleep(0)
        return "survived"

    async def main() -> None:
        task = loop.create_task(resilient())
        await asyncio.sleep(0)
        task.cancel()
        assert await task == "survived"
        assert task.cancelling() == 0

    run(main())


def test_task_cancelled_before_it_starts(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    ran: list[bool] = []

    async def never() -> None:
        ran.append(True)

    task = loop.create_task(never())
    task.cancel("early")
    with pytest.raises(asyncio.CancelledError, match="^early$"):
        run(task)
    assert ran == []


def test_task_catches_cancel_and_returns(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def stubborn() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return 3
        return 0

    async def main() -> None:
        t = loop.create_task(stubborn())
        await asyncio.sleep(0)
        t.cancel()
        assert await t == 3
        assert not t.cancelled()

    run(main())


def test_task_reprs(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def sleeper() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        t = loop.create_task(sleeper(), name="zz")
        assert re.fullmatch(r"<Task pending name='zz' coro=<.*sleeper\(\) running at .+:\d+>>", repr(t)), repr(t)
        await asyncio.sleep(0)
        assert " wait_for=<Future pending cb=[" in repr(t)
        t.cancel()
        assert repr(t).startswith("<Task cancelling name='zz'") or repr(t).startswith(
            "<Task pending name='zz'"
        )
        with pytest.raises(asyncio.CancelledError):
            await t
        assert re.fullmatch(r"<Task cancelled name='zz' coro=<.*sleeper\(\) done, defined at .+:\d+>>", repr(t)), repr(t)

    run(main())


def test_task_get_stack_and_print_stack(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def inner() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        t = loop.create_task(inner(), name="stacky")
        await asyncio.sleep(0)
        frames = t.get_stack()
        assert len(frames) == 1
        assert frames[0].f_code.co_name == "inner"
        out = io.StringIO()
        t.print_stack(file=out)
        text = out.getvalue()
        assert text.startswith("Stack for <Task pending name='stacky'")
        assert ", in inner" in text
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t

    run(main())

    async def failing() -> None:
        raise ValueError("stack")

    t = loop.create_task(failing())
    with pytest.raises(ValueError):
        run(t)
    frames = t.get_stack()
    assert frames and frames[-1].f_code.co_name == "failing"
    out = io.StringIO()
    t.print_stack(file=out)
    assert out.getvalue().startswith("Traceback for <Task finished name=")
    assert out.getvalue().rstrip().endswith("ValueError: stack")


def test_task_factory(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    assert loop.get_task_factory() is None
    made: list[Any] = []

    def factory(lp: Any, coro: Any, **kwargs: Any) -> Any:
        task = asyncio.Task(coro, loop=lp, **kwargs)
        made.append(task)
        return task

    loop.set_task_factory(factory)
    assert loop.get_task_factory() is factory
    t = loop.create_task(_return(1), name="fact")
    assert made == [t] and t.get_name() == "fact"
    assert run(t) == 1
    loop.set_task_factory(None)
    assert loop.get_task_factory() is None
    with pytest.raises(TypeError, match="^task factory must be a callable or None$"):
        loop.set_task_factory(1)  # type: ignore[arg-type]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12+")
def test_eager_task_factory(loop: asyncio.AbstractEventLoop, loop_kind: str, run: Any) -> None:
    if loop_kind == "uvloop" and sys.version_info >= (3, 13):
        pytest.skip("uvloop passes eager_start= to task factories, which asyncio's own refuses")
    order: list[str] = []

    async def eager() -> str:
        order.append("body")
        return "done"

    async def main() -> None:
        loop.set_task_factory(asyncio.eager_task_factory)
        t = loop.create_task(eager())
        order.append("after create")
        assert t.done()
        assert await t == "done"

    run(main())
    assert order == ["body", "after create"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="eager tasks are 3.12+")
def test_batonio_task_eager_start() -> None:
    import batonio

    loop = batonio.new_event_loop()
    try:
        async def eager() -> int:
            return 5

        async def main() -> None:
            t = batonio.Task(eager(), loop=loop, eager_start=True)
            assert t.done() and t.result() == 5

        loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="eager_start is 3.12+")
def test_batonio_task_no_eager_start_on_311() -> None:
    import batonio

    loop = batonio.new_event_loop()
    try:
        async def body() -> None:
            pass

        coro = body()
        with pytest.raises(TypeError, match="eager_start"):
            batonio.Task(coro, loop=loop, eager_start=True)
        coro.close()
    finally:
        loop.close()


# ------------------------------------------------------------------ contextvars
def test_contextvars_per_task_and_per_callback(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    seen: dict[str, str] = {}

    async def child(name: str) -> None:
        seen[name + "-start"] = VAR.get()
        VAR.set(name)
        await asyncio.sleep(0)
        seen[name + "-end"] = VAR.get()

    def callback(name: str) -> None:
        seen[name] = VAR.get()
        VAR.set("changed-by-callback")

    async def main() -> None:
        VAR.set("parent")
        await asyncio.gather(child("a"), child("b"))
        seen["parent"] = VAR.get()
        ctx = contextvars.copy_context()
        ctx.run(VAR.set, "explicit")
        loop.call_soon(callback, "cb-explicit", context=ctx)
        loop.call_soon(callback, "cb-copied")
        await asyncio.sleep(0)
        seen["parent-after-callbacks"] = VAR.get()
        assert ctx[VAR] == "changed-by-callback"

    run(main())
    assert seen == {
        "a-start": "parent",
        "b-start": "parent",
        "a-end": "a",
        "b-end": "b",
        "parent": "parent",
        "cb-explicit": "explicit",
        "cb-copied": "parent",
        "parent-after-callbacks": "parent",
    }


def test_task_exception_traceback_starts_at_the_coroutine(
    loop: asyncio.AbstractEventLoop, run: Any
) -> None:
    """A task's stored exception shows the user's frames only, as asyncio's C task stores it."""

    async def failing() -> None:
        raise ValueError("boom")

    async def main() -> list[str]:
        task = asyncio.ensure_future(failing())
        await asyncio.sleep(0)
        error = task.exception()
        assert error is not None
        return [entry.name for entry in traceback.extract_tb(error.__traceback__)]

    assert run(main()) == ["failing"]


def test_exception_thrown_into_awaiter_has_no_loop_frames(
    loop: asyncio.AbstractEventLoop, run: Any
) -> None:
    """Awaiting a failed task re-raises with the awaiter's and the failing coroutine's frames."""

    async def failing() -> None:
        raise KeyError("k")

    async def awaiter() -> None:
        await asyncio.ensure_future(failing())

    async def main() -> list[str]:
        task = asyncio.ensure_future(awaiter())
        await asyncio.wait([task])
        error = task.exception()
        assert isinstance(error, KeyError)
        return [
            entry.name
            for entry in traceback.extract_tb(error.__traceback__)
            if entry.name in ("awaiter", "failing")
        ]

    assert run(main()) == ["awaiter", "failing"]
