"""Handles and timer handles: identity, cancellation, reprs — on asyncio, uvloop and batonio."""
from __future__ import annotations

import asyncio
import contextvars
import functools
import re
import sys
from typing import Any

import pytest

HERE = __file__


def _cb(*args: Any) -> None:
    """A plain callback whose repr position is known."""


class _Owner:
    def method(self, *args: Any) -> None:
        """A bound-method callback."""


def _line(func: Any) -> int:
    return func.__code__.co_firstlineno  # type: ignore[no-any-return]


def _need_asyncio_handles(loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop's handles are its own classes, not asyncio.Handle")


def test_call_soon_returns_asyncio_handle(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _need_asyncio_handles(loop_kind)
    h = loop.call_soon(_cb)
    assert isinstance(h, asyncio.Handle)
    assert not isinstance(h, asyncio.TimerHandle)
    h.cancel()


def test_call_later_and_call_at_return_timer_handles(
    loop: asyncio.AbstractEventLoop, loop_kind: str
) -> None:
    _need_asyncio_handles(loop_kind)
    before = loop.time()
    h1 = loop.call_later(10, _cb)
    h2 = loop.call_at(before + 20, _cb)
    for h in (h1, h2):
        assert isinstance(h, asyncio.TimerHandle)
        assert isinstance(h, asyncio.Handle)
    assert before + 10 <= h1.when() <= loop.time() + 10
    assert h2.when() == before + 20
    h1.cancel()
    h2.cancel()


def test_cancel_is_idempotent_and_reported(loop: asyncio.AbstractEventLoop) -> None:
    h = loop.call_soon(_cb)
    t = loop.call_later(5, _cb)
    assert not h.cancelled() and not t.cancelled()
    h.cancel()
    h.cancel()
    t.cancel()
    t.cancel()
    assert h.cancelled() and t.cancelled()


def test_cancelled_handles_never_run(loop: asyncio.AbstractEventLoop) -> None:
    ran: list[str] = []
    keep = loop.call_soon(ran.append, "soon-kept")
    drop = loop.call_soon(ran.append, "soon-dropped")
    tdrop = loop.call_later(0, ran.append, "timer-dropped")
    tkeep = loop.call_later(0, ran.append, "timer-kept")
    drop.cancel()
    tdrop.cancel()

    async def main() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        await asyncio.sleep(0.001)

    loop.run_until_complete(main())
    assert ran == ["soon-kept", "timer-kept"]
    assert not keep.cancelled() and not tkeep.cancelled()


def test_a_callback_cancelling_a_later_one_in_the_same_batch(loop: asyncio.AbstractEventLoop) -> None:
    ran: list[int] = []
    handles: list[Any] = []
    handles.append(loop.call_soon(lambda: (ran.append(1), handles[1].cancel())))
    handles.append(loop.call_soon(ran.append, 2))
    handles.append(loop.call_soon(ran.append, 3))
    loop.call_soon(loop.stop)
    loop.run_forever()
    assert ran == [1, 3]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="Handle.get_context is 3.12+")
def test_handle_get_context(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop's handles have no get_context()")
    ctx = contextvars.copy_context()
    h = loop.call_soon(_cb, context=ctx)
    assert h.get_context() is ctx
    t = loop.call_later(1, _cb, context=ctx)
    assert t.get_context() is ctx
    h.cancel()
    t.cancel()


def test_batonio_handle_get_context() -> None:
    import batonio

    loop = batonio.new_event_loop()
    try:
        ctx = contextvars.copy_context()
        h = loop.call_soon(_cb, context=ctx)
        assert h.get_context() is ctx
        t = loop.call_later(1, _cb, context=ctx)
        assert t.get_context() is ctx
        h.cancel()
        t.cancel()
    finally:
        loop.close()


# ------------------------------------------------------------------------ reprs
def _args(shown: str) -> str:
    """Arguments as a non-debug repr shows them: hidden from 3.13 on (they may hold secrets)."""
    return shown if sys.version_info < (3, 13) else "()"


def test_handle_repr_function(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _need_asyncio_handles(loop_kind)
    h = loop.call_soon(_cb, 1, "x")
    assert repr(h) == "<Handle _cb" + _args("(1, 'x')") + f" at {HERE}:{_line(_cb)}>"
    h.cancel()
    assert repr(h) == "<Handle cancelled>"


def test_timer_handle_repr(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _need_asyncio_handles(loop_kind)
    when = loop.time() + 100.5
    t = loop.call_at(when, _cb, 2)
    assert repr(t) == f"<TimerHandle when={when} _cb{_args('(2)')} at {HERE}:{_line(_cb)}>"
    t.cancel()
    assert repr(t) == f"<TimerHandle cancelled when={when}>"


def test_timer_handle_keeps_the_given_when(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    """asyncio stores ``when`` as given: call_at(5, ...) reports when() == 5 and 'when=5'."""
    _need_asyncio_handles(loop_kind)
    t = loop.call_at(10**9, _cb)
    assert t.when() == 10**9
    assert type(t.when()) is int
    assert repr(t).startswith("<TimerHandle when=1000000000 _cb()")
    t.cancel()


def test_handle_repr_partial_without_args(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    """asyncio always appends the call's own (empty) argument list after a partial's."""
    _need_asyncio_handles(loop_kind)
    h = loop.call_soon(functools.partial(_cb, 1))
    assert repr(h) == f"<Handle _cb{_args('(1)')}() at {HERE}:{_line(_cb)}>"
    h.cancel()
    h = loop.call_soon(functools.partial(_cb, 1, k=2), 3)
    assert repr(h) == f"<Handle _cb{_args('(1, k=2)')}{_args('(3)')} at {HERE}:{_line(_cb)}>"
    h.cancel()


def test_handle_repr_bound_method_has_no_source(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    """asyncio gives a source location only for plain functions (inspect.isfunction)."""
    _need_asyncio_handles(loop_kind)
    h = loop.call_soon(_Owner().method, 1)
    assert repr(h) == f"<Handle _Owner.method{_args('(1)')}>"
    h.cancel()
    h = loop.call_soon(print, 1)
    assert repr(h) == f"<Handle print{_args('(1)')}>"
    h.cancel()


def test_handle_repr_in_debug_mode_names_origin(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _need_asyncio_handles(loop_kind)
    loop.set_debug(True)
    h = loop.call_soon(_cb)
    assert re.fullmatch(
        rf"<Handle _cb\(\) at {re.escape(HERE)}:\d+ created at {re.escape(HERE)}:\d+>", repr(h)
    ), repr(h)
    text = repr(h)
    h.cancel()
    # In debug mode cancel() freezes the repr, callback and origin included.
    assert repr(h) == text.replace("<Handle ", "<Handle cancelled ", 1)
    loop.set_debug(False)


def test_uvloop_handles_cancel_too(loop: asyncio.AbstractEventLoop) -> None:
    """The part of the handle API every loop shares."""
    h = loop.call_soon(_cb)
    t = loop.call_later(1, _cb)
    assert "Handle" in repr(h) and "Handle" in repr(t)
    h.cancel()
    t.cancel()
    assert h.cancelled() and t.cancelled()
