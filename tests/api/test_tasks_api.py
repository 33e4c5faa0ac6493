"""batonio's task utilities (sleep, gather, shield, wait, wait_for, as_completed, ...).

Every test runs on stdlib's loop (the oracle), uvloop and batonio's loop, through the
``run``/``loop`` fixtures; expected values are asyncio's behaviour on the running Python.
"""
from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from batonio._api import _taskutils as bt

PY312 = sys.version_info >= (3, 12)
PY313 = sys.version_info >= (3, 13)


async def steps(n: int, value: Any = None, log: list[int] | None = None) -> Any:
    """Yield to the loop n times, recording each step, then return value."""
    for i in range(n):
        if log is not None:
            log.append(i)
        await bt.sleep(0)
    return value


async def fail_after(n: int, exc: BaseException) -> None:
    await steps(n)
    raise exc


# -- sleep ---------------------------------------------------------------------------------

def test_sleep_zero_and_negative_pass_result(run: Any) -> None:
    async def main() -> list[Any]:
        return [await bt.sleep(0), await bt.sleep(0, "r"), await bt.sleep(-5, 7)]
    assert run(main()) == [None, "r", 7]


def test_sleep_zero_is_one_loop_iteration(run: Any) -> None:
    order: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(order.append, "a")
        await bt.sleep(0)
        order.append("task")
        loop.call_soon(order.append, "b")
        await bt.sleep(0)
        order.append("task2")
    run(main())
    assert order == ["a", "task", "b", "task2"]


def test_sleep_delay_and_result(run: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> tuple[Any, float]:
        t0 = loop.time()
        r = await bt.sleep(0.005, result="done")
        return r, loop.time() - t0
    r, elapsed = run(main())
    assert r == "done"
    assert elapsed >= 0.004


@pytest.mark.parametrize("delay", [0, 0.5])
def test_sleep_cancelled(run: Any, delay: float) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(bt.sleep(delay))
        await asyncio.sleep(0)
        task.cancel("why")
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
    run(main())


@pytest.mark.skipif(not PY313, reason="3.13 rejects NaN")
def test_sleep_nan(run: Any) -> None:
    with pytest.raises(ValueError, match="Invalid delay: NaN"):
        run(bt.sleep(float("nan")))


def test_sleep_is_a_coroutine_tasks_accept(run: Any) -> None:
    async def main() -> Any:
        return await bt.create_task(bt.sleep(0, 3))
    assert asyncio.iscoroutinefunction(bt.sleep)
    coro = bt.sleep(0)
    assert asyncio.iscoroutine(coro)
    coro.close()
    assert run(main()) == 3


# -- gather --------------------------------------------------------------------------------

def test_gather_results_in_argument_order(run: Any) -> None:
    async def main() -> Any:
        return await bt.gather(steps(3, "a"), steps(1, "b"), steps(2, "c"))
    assert run(main()) == ["a", "b", "c"]


def test_gather_duplicates(run: Any) -> None:
    async def main() -> Any:
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(5)
        coro = steps(1, "x")
        return await bt.gather(fut, coro, fut, coro)
    assert run(main()) == [5, "x", 5, "x"]


def test_gather_empty(run: Any) -> None:
    async def main() -> Any:
        outer = bt.gather()
        assert outer.done()
        return await outer
    assert run(main()) == []


def test_gather_non_awaitable(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="An asyncio.Future, a coroutine or an awaitable "
                                            "is required"):
            bt.gather(1)
    run(main())


def test_gather_first_exception_propagates(run: Any) -> None:
    async def main() -> None:
        slow = asyncio.ensure_future(steps(5, "slow"))
        with pytest.raises(ZeroDivisionError):
            await bt.gather(fail_after(1, ZeroDivisionError()), slow)
        assert not slow.done()  # siblings keep running
        assert await slow == "slow"
    run(main())


def test_gather_return_exceptions(run: Any) -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        cancelled = loop.create_future()
        cancelled.cancel("msg")
        plain = loop.create_future()
        plain.cancel()
        return await bt.gather(steps(1, 1), fail_after(2, KeyError("k")), cancelled, plain,
                               return_exceptions=True)
    res = run(main())
    assert res[0] == 1
    assert isinstance(res[1], KeyError)
    assert type(res[2]) is asyncio.CancelledError and res[2].args == ("msg",)
    assert res[3].args == ("",)


def test_gather_outer_cancel_cancels_children(run: Any) -> None:
    async def main() -> None:
        a = asyncio.ensure_future(steps(10))
        b = asyncio.ensure_future(steps(10))
        outer = bt.gather(a, b)
        await asyncio.sleep(0)
        assert outer.cancel("stop")
        with pytest.raises(asyncio.CancelledError):
            await outer
        assert a.cancelled() and b.cancelled()
        assert not outer.cancel()
    run(main())


def test_gather_cancel_propagates_with_return_exceptions(run: Any) -> None:
    # bpo-32684: a cancelled gather raises even with return_exceptions=True.
    async def main() -> None:
        outer = bt.gather(steps(10), steps(10), return_exceptions=True)
        await asyncio.sleep(0)
        outer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer
    run(main())


def test_gather_child_cancelled_is_an_error(run: Any) -> None:
    async def main() -> None:
        a = asyncio.ensure_future(steps(10))
        b = asyncio.ensure_future(steps(3, "b"))
        outer = bt.gather(a, b)
        await asyncio.sleep(0)
        a.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer
        assert not outer.cancelled()  # the outer future failed, it was not cancelled
        assert await b == "b"
    run(main())


def test_gather_task_awaiting_it_cancelled(run: Any) -> None:
    async def main() -> None:
        children: list[Any] = []

        async def waiter() -> None:
            a = asyncio.ensure_future(steps(10))
            children.append(a)
            await bt.gather(a, steps(10))
        t = asyncio.ensure_future(waiter())
        await steps(2)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert children[0].cancelled()
    run(main())


def test_gather_awaitable_object(run: Any) -> None:
    class Aw:
        def __await__(self) -> Any:
            return steps(1, "aw").__await__()

    async def main() -> Any:
        return await bt.gather(Aw())
    assert run(main()) == ["aw"]


def test_gather_all_done_futures(run: Any) -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(1)
        outer = bt.gather(fut)
        # 3.12+: finished children are accounted at once.
        assert outer.done() is PY312
        assert await outer == [1]
    run(main())


@pytest.mark.parametrize("return_exceptions", [False, True])
def test_gather_matches_asyncio(run: Any, return_exceptions: bool) -> None:
    def make() -> list[Any]:
        return [steps(2, 1), fail_after(1, ValueError("v")), steps(0, 3)]

    async def outcome(gather: Any) -> Any:
        try:
            return await gather(*make(), return_exceptions=return_exceptions)
        except ValueError as exc:
            return ("raised", exc.args)

    async def main() -> tuple[Any, Any]:
        ours = await outcome(bt.gather)
        await steps(3)
        theirs = await outcome(asyncio.gather)
        await steps(3)
        return ours, theirs

    ours, theirs = run(main())
    assert repr(ours) == repr(theirs)


# -- shield --------------------------------------------------------------------------------

def test_shield_protects_inner(run: Any) -> None:
    async def main() -> None:
        inner = asyncio.ensure_future(steps(3, "in"))

        async def waiter() -> Any:
            return await bt.shield(inner)
        t = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert not inner.cancelled()
        assert await inner == "in"
    run(main())


def test_shield_done_future_is_returned(run: Any) -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(2)
        assert bt.shield(fut) is fut
    run(main())


def test_shield_inner_outcomes(run: Any) -> None:
    async def main() -> None:
        inner = asyncio.ensure_future(steps(5))
        outer = bt.shield(inner)
        inner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer
        assert outer.cancelled()
        with pytest.raises(KeyError):
            await bt.shield(fail_after(1, KeyError()))
        assert await bt.shield(steps(1, 4)) == 4
    run(main())


# -- wait ----------------------------------------------------------------------------------

def test_wait_bad_inputs(run: Any) -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        with pytest.raises(TypeError, match=f"expect a list of futures, not {type(fut).__name__}"):
            await bt.wait(fut)
        coro = steps(1)
        with pytest.raises(TypeError, match="expect a list of futures, not coroutine"):
            await bt.wait(coro)
        with pytest.raises(TypeError, match="Passing coroutines is forbidden"):
            await bt.wait([coro])
        coro.close()
        with pytest.raises(ValueError, match=r"Set of Tasks/Futures is empty\."):
            await bt.wait([])
        with pytest.raises(ValueError, match="Invalid return_when value: bogus"):
            await bt.wait([fut], return_when="bogus")
        fut.cancel()
    run(main())


@pytest.mark.parametrize("when,ndone", [(bt.FIRST_COMPLETED, 1), (bt.ALL_COMPLETED, 3),
                                         (bt.FIRST_EXCEPTION, 2)])
def test_wait_return_when(run: Any, when: str, ndone: int) -> None:
    async def main() -> tuple[int, int]:
        ts = [asyncio.ensure_future(steps(1)), asyncio.ensure_future(fail_after(3, KeyError())),
              asyncio.ensure_future(steps(6))]
        done, pending = await bt.wait(ts, return_when=when)
        await asyncio.wait(ts)
        for t in ts:
            t.exception()
        return len(done), len(pending)
    assert run(main()) == (ndone, 3 - ndone)


def test_wait_timeout_leaves_pending(run: Any) -> None:
    async def main() -> None:
        slow = asyncio.ensure_future(bt.sleep(10))
        quick = asyncio.get_running_loop().create_future()
        quick.set_result(None)
        done, pending = await bt.wait([slow, quick], timeout=0.005)
        assert done == {quick} and pending == {slow}
        slow.cancel()
    run(main())


# -- wait_for ------------------------------------------------------------------------------

def test_wait_for_result_and_none_timeout(run: Any) -> None:
    async def main() -> list[Any]:
        return [await bt.wait_for(steps(2, "a"), 1), await bt.wait_for(steps(1, "b"), None)]
    assert run(main()) == ["a", "b"]


def test_wait_for_timeout_cancels_inner(run: Any) -> None:
    async def main() -> None:
        inner = asyncio.ensure_future(bt.sleep(10))
        with pytest.raises(TimeoutError):
            await bt.wait_for(inner, 0.005)
        assert inner.cancelled()
    run(main())


@pytest.mark.parametrize("timeout", [0, -1])
def test_wait_for_expired_timeout_never_starts_coroutine(run: Any, timeout: float) -> None:
    started: list[int] = []

    async def body() -> None:
        started.append(1)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            await bt.wait_for(body(), timeout)
        fut = asyncio.get_running_loop().create_future()
        fut.set_result(3)
        assert await bt.wait_for(fut, 0) == 3
    run(main())
    assert started == []


def test_wait_for_outer_cancel_cancels_inner(run: Any) -> None:
    async def main() -> None:
        inner = asyncio.ensure_future(bt.sleep(10))
        t = asyncio.ensure_future(bt.wait_for(inner, 5))
        await steps(2)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert inner.cancelled()
    run(main())


def test_wait_for_inner_refuses_cancellation(run: Any) -> None:
    async def stubborn() -> str:
        try:
            await bt.sleep(10)
        except asyncio.CancelledError:
            return "kept"
        return "slept"

    async def main() -> Any:
        try:
            return await bt.wait_for(stubborn(), 0.005)
        except TimeoutError:
            return "timeout"
    # 3.11 returns the value the awaitable produced; 3.12+ (timeout()) as well, since the
    # block ends normally before the timeout could turn anything into TimeoutError.
    assert run(main()) == "kept"


def test_wait_for_inner_exception(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(KeyError):
            await bt.wait_for(fail_after(1, KeyError()), 1)
    run(main())


# -- as_completed --------------------------------------------------------------------------

def test_as_completed_order(run: Any) -> None:
    async def main() -> list[Any]:
        return [await c for c in bt.as_completed([steps(3, "c"), steps(1, "a"), steps(2, "b")])]
    assert run(main()) == ["a", "b", "c"]


def test_as_completed_timeout(run: Any) -> None:
    async def main() -> list[Any]:
        slow = asyncio.ensure_future(bt.sleep(10))
        quick = asyncio.get_running_loop().create_future()
        quick.set_result("q")  # done already: its callback is queued before any timer
        got: list[Any] = []
        for c in bt.as_completed([slow, quick], timeout=0.005):
            try:
                got.append(await c)
            except TimeoutError:
                got.append("timeout")
        slow.cancel()
        return got
    assert run(main()) == ["q", "timeout"]


def test_as_completed_bad_input(run: Any) -> None:
    async def main() -> None:
        fut = asyncio.get_running_loop().create_future()
        msg = (f"expects an iterable of awaitables, not {type(fut).__name__}" if PY313
               else f"expect an iterable of futures, not {type(fut).__name__}")
        with pytest.raises(TypeError, match=msg):
            list(bt.as_completed(fut))
        fut.cancel()
    run(main())


@pytest.mark.skipif(not PY313, reason="async iteration is 3.13+")
def test_as_completed_async_iteration_yields_originals(run: Any) -> None:
    async def main() -> None:
        a = asyncio.ensure_future(steps(2, "a"))
        b = asyncio.ensure_future(steps(1, "b"))
        seen = [t async for t in bt.as_completed([a, b])]
        assert seen == [b, a]
    run(main())


# -- ensure_future, create_task, registries ------------------------------------------------

def test_ensure_future(run: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        fut = loop.create_future()
        assert bt.ensure_future(fut) is fut
        other = asyncio.new_event_loop()
        try:
            with pytest.raises(ValueError, match="The future belongs to a different loop"):
                bt.ensure_future(fut, loop=other)
        finally:
            other.close()
        fut.cancel()
        task = bt.ensure_future(steps(1, 5))
        assert isinstance(task, asyncio.Task) or bt.isfuture(task)
        assert await task == 5
        with pytest.raises(TypeError, match="An asyncio.Future, a coroutine or an awaitable"):
            bt.ensure_future("nope")
    run(main())


def test_isfuture(loop: asyncio.AbstractEventLoop) -> None:
    fut = loop.create_future()
    assert bt.isfuture(fut)
    assert not bt.isfuture(asyncio.Future)  # the class advertises, instances do
    assert not bt.isfuture(object())
    fut.cancel()


def test_create_task_name_context_and_registries(run: Any,
                                                 loop: asyncio.AbstractEventLoop) -> None:
    import contextvars
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=0)

    async def body() -> Any:
        me = bt.current_task()
        assert me is asyncio.current_task()
        assert me in bt.all_tasks()
        assert bt.current_task(loop) is me
        return var.get()

    async def main() -> None:
        ctx = contextvars.copy_context()
        ctx.run(var.set, 9)
        t = bt.create_task(body(), name="worker", context=ctx)
        assert t.get_name() == "worker"
        assert t in bt.all_tasks(loop)
        assert await t == 9
        assert t not in bt.all_tasks()
    run(main())


def test_current_task_without_loop() -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        bt.current_task()
    with pytest.raises(RuntimeError, match="no running event loop"):
        bt.all_tasks()


def test_create_task_without_loop() -> None:
    coro = steps(1)
    with pytest.raises(RuntimeError, match="no running event loop"):
        bt.create_task(coro)
    coro.close()


@pytest.mark.skipif(not PY312, reason="eager tasks are 3.12+")
def test_eager_task_factory(run: Any, loop: asyncio.AbstractEventLoop) -> None:
    log: list[str] = []

    async def body() -> str:
        log.append("started")
        await bt.sleep(0)
        return "ok"

    async def main() -> None:
        loop.set_task_factory(bt.eager_task_factory)
        try:
            t = loop.create_task(body())
            assert log == ["started"]
            assert await t == "ok"
            factory = bt.create_eager_task_factory(asyncio.Task)
            loop.set_task_factory(factory)
            t2 = loop.create_task(steps(0, "now"))
            assert t2.done() and t2.result() == "now"
        finally:
            loop.set_task_factory(None)
    run(main())


@pytest.mark.skipif(PY312, reason="3.11 has no eager tasks")
def test_no_eager_names_on_311() -> None:
    assert not hasattr(bt, "eager_task_factory")
    assert "eager_task_factory" not in bt.__all__


# -- cancellation at each await point ------------------------------------------------------

@pytest.mark.parametrize("at", range(5))
@pytest.mark.parametrize("api", ["gather", "wait_for", "shield", "wait", "as_completed"])
def test_cancel_at_each_step_matches_asyncio(run: Any, api: str, at: int) -> None:
    """Cancel the waiting task after ``at`` loop iterations; compare with asyncio's own API."""
    async def scenario(mod: Any) -> tuple[str, str, list[int]]:
        log: list[int] = []
        inner = asyncio.ensure_future(steps(3, "v", log))

        async def waiter() -> Any:
            if api == "gather":
                return await mod.gather(inner)
            if api == "wait_for":
                return await mod.wait_for(inner, 10)
            if api == "shield":
                return await mod.shield(inner)
            if api == "as_completed":
                return [await c for c in mod.as_completed([inner])]
            done, pending = await mod.wait([inner])
            return len(done), len(pending)

        outer = asyncio.ensure_future(waiter())
        for _ in range(at):
            await asyncio.sleep(0)
        outer.cancel()
        try:
            outcome = repr(await outer)
        except asyncio.CancelledError:
            outcome = "cancelled"
        if not inner.done():
            inner_state = "pending"
            inner.cancel()
            await asyncio.sleep(0)
        else:
            inner_state = "cancelled" if inner.cancelled() else repr(inner.result())
        return outcome, inner_state, log

    async def main() -> tuple[Any, Any]:
        return await scenario(bt), await scenario(asyncio)

    ours, theirs = run(main())
    assert ours == theirs
