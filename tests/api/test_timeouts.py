"""batonio's ``timeout``/``timeout_at``/``Timeout`` on stdlib's loop, uvloop and batonio's."""
from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest

from batonio._api import _taskutils as bt

PY313 = sys.version_info >= (3, 13)


def test_expiry_raises_timeout_error(run: Any) -> None:
    async def main() -> Any:
        with pytest.raises(TimeoutError) as info:
            async with bt.timeout(0.005) as cm:
                await asyncio.sleep(10)
        assert isinstance(info.value.__cause__, asyncio.CancelledError)
        assert cm.expired()
        assert repr(cm) == "<Timeout [expired]>"
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
        return cm
    run(main())


def test_no_expiry(run: Any) -> None:
    async def main() -> None:
        async with bt.timeout(10) as cm:
            assert repr(cm).startswith("<Timeout [active] when=")
            await asyncio.sleep(0)
        assert not cm.expired()
        assert repr(cm) == "<Timeout [finished]>"
        async with bt.timeout(None) as never:
            assert never.when() is None
            assert repr(never) == "<Timeout [active] when=None>"
    run(main())


def test_states_and_messages(run: Any) -> None:
    async def main() -> None:
        cm = bt.timeout(1)
        assert repr(cm) == "<Timeout [created]>"
        with pytest.raises(RuntimeError, match="Timeout has not been entered"):
            cm.reschedule(None)
        async with cm:
            with pytest.raises(RuntimeError, match="Timeout has already been entered"):
                await cm.__aenter__()
        with pytest.raises(RuntimeError, match="Cannot change state of finished Timeout"):
            cm.reschedule(1)
        with pytest.raises(TimeoutError):
            async with bt.timeout(0) as gone:
                await asyncio.sleep(1)
        with pytest.raises(RuntimeError, match="Cannot change state of expired Timeout"):
            gone.reschedule(1)
    run(main())


def test_outside_a_task(loop: asyncio.AbstractEventLoop) -> None:
    errors: list[BaseException] = []

    def callback() -> None:
        coro = bt.timeout_at(None).__aenter__()
        try:
            coro.send(None)
        except RuntimeError as exc:
            errors.append(exc)
        loop.stop()
    loop.call_soon(callback)
    loop.run_forever()
    assert str(errors[0]) == "Timeout should be used inside a task"


def test_timeout_outside_loop() -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        bt.timeout(1)
    assert bt.timeout_at(5).when() == 5


def test_reschedule(run: Any, loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        async with bt.timeout(None) as cm:
            cm.reschedule(loop.time() + 10)
            cm.reschedule(None)
            await asyncio.sleep(0.002)
        assert not cm.expired()
        with pytest.raises(TimeoutError):
            async with bt.timeout(10) as cm:
                cm.reschedule(loop.time() - 1)  # in the past: next iteration
                await asyncio.sleep(10)
        with pytest.raises(TimeoutError):
            async with bt.timeout_at(loop.time() + 10) as cm:
                cm.reschedule(loop.time() + 0.003)
                await asyncio.sleep(10)
    run(main())


def test_nested_inner_expires(run: Any) -> None:
    async def main() -> None:
        async with bt.timeout(10) as outer:
            with pytest.raises(TimeoutError):
                async with bt.timeout(0.002) as inner:
                    await asyncio.sleep(10)
        assert inner.expired() and not outer.expired()
    run(main())


def test_nested_outer_expires(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with bt.timeout(0.002) as outer:
                async with bt.timeout(10) as inner:
                    await asyncio.sleep(10)
        assert outer.expired() and not inner.expired()
    run(main())


def test_both_expire_outer_claims_it(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with bt.timeout(0) as outer:
                async with bt.timeout(0) as inner:
                    await asyncio.sleep(10)
        assert outer.expired() and inner.expired()
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    run(main())


def test_outer_cancel_is_not_swallowed(run: Any) -> None:
    async def main() -> None:
        async def body() -> None:
            async with bt.timeout(0):
                asyncio.current_task().cancel()  # type: ignore[union-attr]
                await asyncio.sleep(10)
        t = asyncio.ensure_future(body())
        with pytest.raises(asyncio.CancelledError):
            await t
        assert t.cancelled()
    run(main())


def test_other_exception_after_expiry(run: Any) -> None:
    async def main() -> None:
        with pytest.raises(ValueError) as info:
            async with bt.timeout(0):
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    raise ValueError("v")  # noqa: B904
        ctx = info.value.__context__
        if PY313:
            assert isinstance(ctx, TimeoutError)
            assert isinstance(ctx.__context__, asyncio.CancelledError)
        else:
            assert isinstance(ctx, asyncio.CancelledError)
    run(main())


@pytest.mark.parametrize("delays", [(0.002, 10), (10, 0.002), (0, 0), (None, 0.002)])
def test_nested_matches_asyncio(run: Any, delays: tuple[Any, Any]) -> None:
    async def scenario(mod: Any) -> tuple[str, bool, bool]:
        o = mod.timeout(delays[0])
        i = mod.timeout(delays[1])
        try:
            async with o:
                async with i:
                    await asyncio.sleep(10)
            outcome = "ok"
        except TimeoutError:
            outcome = "timeout"
        return outcome, o.expired(), i.expired()

    async def main() -> tuple[Any, Any]:
        return await scenario(bt), await scenario(asyncio)
    ours, theirs = run(main())
    assert ours == theirs


def test_wait_for_uses_timeout_semantics(run: Any) -> None:
    async def main() -> None:
        inner = asyncio.ensure_future(asyncio.sleep(10))
        with pytest.raises(TimeoutError):
            await bt.wait_for(inner, 0.002)
        assert inner.cancelled()
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    run(main())
