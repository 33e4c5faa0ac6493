"""batonio's ``TaskGroup`` on stdlib's loop, uvloop and batonio's; asyncio's is the oracle."""
from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import Any

import pytest

from batonio._api import _taskutils as bt

PY312 = sys.version_info >= (3, 12)
PY313 = sys.version_info >= (3, 13)


async def steps(n: int, value: Any = None) -> Any:
    for _ in range(n):
        await asyncio.sleep(0)
    return value


async def fail_after(n: int, exc: BaseException) -> None:
    await steps(n)
    raise exc


def test_children_results(run: Any) -> None:
    async def main() -> list[Any]:
        async with bt.TaskGroup() as tg:
            ts = [tg.create_task(steps(i, i)) for i in range(4)]
        return [t.result() for t in ts]
    assert run(main()) == [0, 1, 2, 3]


def test_child_error_cancels_siblings_and_groups(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(BaseExceptionGroup) as info:
            async with bt.TaskGroup() as tg:
                slow = tg.create_task(asyncio.sleep(10))
                tg.create_task(fail_after(1, ZeroDivisionError()))
                tg.create_task(fail_after(1, KeyError()))
                await asyncio.sleep(10)  # woken by the group's cancel
        assert isinstance(info.value, ExceptionGroup)
        assert info.value.message == "unhandled errors in a TaskGroup"
        assert [type(e) for e in info.value.exceptions] == [ZeroDivisionError, KeyError]
        assert slow.cancelled()
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    run(main())


def test_body_error_cancels_children(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(ExceptionGroup) as info:
            async with bt.TaskGroup() as tg:
                child = tg.create_task(asyncio.sleep(10))
                await asyncio.sleep(0)
                raise ValueError("body")
        assert [str(e) for e in info.value.exceptions] == ["body"]
        assert child.cancelled()
    run(main())


def test_parent_cancelled_from_outside(run: Any) -> None:
    async def main() -> None:
        children: list[Any] = []

        async def parent() -> None:
            async with bt.TaskGroup() as tg:
                children.append(tg.create_task(asyncio.sleep(10)))
                await asyncio.sleep(10)
        t = asyncio.ensure_future(parent())
        await steps(2)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert children[0].cancelled()
    run(main())


def test_parent_cancelled_while_exiting(run: Any) -> None:
    async def main() -> None:
        children: list[Any] = []

        async def parent() -> None:
            async with bt.TaskGroup() as tg:
                children.append(tg.create_task(asyncio.sleep(10)))
        t = asyncio.ensure_future(parent())
        await steps(2)  # parent now waits in __aexit__
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert children[0].cancelled()
    run(main())


def test_create_task_refusals(run: Any) -> None:
    async def main() -> None:
        tg = bt.TaskGroup()
        coro = steps(0)
        with pytest.raises(RuntimeError, match=r"TaskGroup <TaskGroup> has not been entered"):
            tg.create_task(coro)
        if PY313:
            assert coro.cr_frame is None  # closed by the group
        else:
            coro.close()
        async with tg:
            with pytest.raises(RuntimeError, match="has already been entered"):
                await tg.__aenter__()
        coro = steps(0)
        with pytest.raises(RuntimeError, match="is finished"):
            tg.create_task(coro)
        if not PY313:
            coro.close()

        shutting: list[str] = []

        async def late(group: Any) -> None:
            await steps(2)
            c = steps(0)
            try:
                group.create_task(c)
            except RuntimeError as exc:
                shutting.append(str(exc))
            if not PY313:
                c.close()

        with pytest.raises(ExceptionGroup):
            async with bt.TaskGroup() as tg2:
                tg2.create_task(fail_after(1, KeyError()))
                await asyncio.shield(asyncio.ensure_future(late(tg2)))
        await steps(3)
        assert shutting and shutting[0].endswith("is shutting down")
    run(main())


def test_name_and_context(run: Any) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="none")

    async def read() -> str:
        return var.get()

    async def main() -> None:
        ctx = contextvars.copy_context()
        ctx.run(var.set, "ctx")
        async with bt.TaskGroup() as tg:
            a = tg.create_task(read(), name="reader")
            b = tg.create_task(read(), context=ctx)
        assert a.get_name() == "reader"
        assert (a.result(), b.result()) == ("none", "ctx")
    run(main())


def test_repr(run: Any) -> None:
    async def main() -> None:
        tg = bt.TaskGroup()
        assert repr(tg) == "<TaskGroup>"
        async with tg:
            tg.create_task(steps(1))
            assert repr(tg) == "<TaskGroup tasks=1 entered>"
    run(main())


def test_timeout_around_group(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with bt.timeout(0.003):
                async with bt.TaskGroup() as tg:
                    tg.create_task(asyncio.sleep(10))
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    run(main())


def test_outside_a_task(loop: asyncio.AbstractEventLoop) -> None:
    errors: list[str] = []

    def callback() -> None:
        coro = bt.TaskGroup().__aenter__()
        try:
            coro.send(None)
        except RuntimeError as exc:
            errors.append(str(exc))
        loop.stop()
    loop.call_soon(callback)
    loop.run_forever()
    assert errors == ["TaskGroup <TaskGroup> cannot determine the parent task"]


@pytest.mark.parametrize("scenario", ["ok", "child_error", "body_error", "outer_cancel",
                                      "error_and_outer_cancel", "cancel_child"])
def test_matches_asyncio(run: Any, scenario: str) -> None:
    async def play(mod: Any) -> tuple[str, int]:
        async def parent() -> str:
            async with mod.TaskGroup() as tg:
                tg.create_task(steps(2, "a"))
                if scenario in ("child_error", "error_and_outer_cancel"):
                    tg.create_task(fail_after(1, KeyError("k")))
                if scenario == "cancel_child":
                    tg.create_task(steps(5)).cancel()
                if scenario == "body_error":
                    raise ValueError("v")
                await asyncio.sleep(0.5 if scenario != "ok" else 0)
            return "done"

        t = asyncio.ensure_future(parent())
        if scenario in ("outer_cancel", "error_and_outer_cancel"):
            await steps(2)
            t.cancel()
        try:
            outcome = await t
        except BaseExceptionGroup as eg:
            outcome = f"group{[type(e).__name__ for e in eg.exceptions]}"
        except asyncio.CancelledError:
            outcome = "cancelled"
        return outcome, t.cancelling()

    async def main() -> tuple[Any, Any]:
        return await play(bt), await play(asyncio)
    ours, theirs = run(main())
    assert ours == theirs


@pytest.mark.skipif(not PY312, reason="eager tasks are 3.12+")
def test_eager_child_done_at_creation(run: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        loop.set_task_factory(bt.eager_task_factory)
        try:
            async with bt.TaskGroup() as tg:
                t = tg.create_task(steps(0, "now"))
                assert t.done()
                assert repr(tg) == "<TaskGroup entered>"
        finally:
            loop.set_task_factory(None)
    run(main())
