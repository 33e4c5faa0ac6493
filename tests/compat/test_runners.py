"""batonio.run / batonio.Runner, checked against asyncio.run / asyncio.Runner (the oracle)."""
from __future__ import annotations

import asyncio
import contextvars
import gc
import signal
import sys
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from batonio._api import _runners
from batonio._api._loops import _loop_class

PY312 = sys.version_info >= (3, 12)

IMPLS = {
    "asyncio": SimpleNamespace(run=asyncio.run, Runner=asyncio.Runner),
    "batonio": SimpleNamespace(run=_runners.run, Runner=_runners.Runner),
}


@pytest.fixture(params=sorted(IMPLS))
def impl(request: pytest.FixtureRequest) -> Iterator[SimpleNamespace]:
    """asyncio's runners (the oracle) or batonio's; restore the policy's loop afterwards."""
    policy = asyncio.get_event_loop_policy()
    try:
        yield IMPLS[request.param]
    finally:
        asyncio.set_event_loop_policy(policy)
        asyncio.set_event_loop(None)
        gc.collect()


class RecordingLoop(asyncio.SelectorEventLoop):
    """A stdlib loop that records how the Runner finalises it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def shutdown_asyncgens(self) -> None:
        self.calls.append(("shutdown_asyncgens", ()))
        await super().shutdown_asyncgens()

    async def shutdown_default_executor(self, *args: Any) -> None:
        self.calls.append(("shutdown_default_executor", args))
        await super().shutdown_default_executor(*args)

    def close(self) -> None:
        self.calls.append(("close", ()))
        super().close()


async def _answer() -> int:
    await asyncio.sleep(0)
    return 42


def test_run_returns_result_and_closes_loop(impl: SimpleNamespace) -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def main() -> int:
        seen.append(asyncio.get_running_loop())
        return await _answer()

    assert impl.run(main()) == 42
    assert seen[0].is_closed()
    assert asyncio.events._get_running_loop() is None


def test_batonio_run_uses_batonio_loop() -> None:
    async def main() -> type:
        return type(asyncio.get_running_loop())

    try:
        assert _runners.run(main()) is _loop_class()
        with _runners.Runner() as runner:
            assert type(runner.get_loop()) is _loop_class()
    finally:
        asyncio.set_event_loop(None)


def test_run_rejects_non_coroutine(impl: SimpleNamespace) -> None:
    fut_like = SimpleNamespace()
    with pytest.raises(ValueError, match=r"^a coroutine was expected, got namespace\(\)$"):
        impl.run(fut_like)
    with impl.Runner() as runner, pytest.raises(ValueError, match="a coroutine was expected"):
        runner.run(42)


def test_run_from_running_loop(impl: SimpleNamespace) -> None:
    messages: list[str] = []

    async def main() -> None:
        for call in (impl.run, impl.Runner().run):
            inner = _answer()
            try:
                call(inner)
            except RuntimeError as exc:
                messages.append(str(exc))
            finally:
                inner.close()

    impl.run(main())
    assert messages == [
        "asyncio.run() cannot be called from a running event loop",
        "Runner.run() cannot be called from a running event loop",
    ]


def test_debug_flag(impl: SimpleNamespace) -> None:
    async def debug() -> bool:
        return asyncio.get_running_loop().get_debug()

    assert impl.run(debug(), debug=True) is True
    assert impl.run(debug(), debug=False) is False


def test_close_cancels_leftover_tasks_and_reports_errors(impl: SimpleNamespace) -> None:
    events: list[str] = []
    errors: list[dict[str, Any]] = []

    async def sleeper() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("sleeper cancelled")
            raise

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ZeroDivisionError("during shutdown") from None

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
        loop.create_task(sleeper())
        loop.create_task(stubborn())
        await asyncio.sleep(0)

    impl.run(main())
    assert events == ["sleeper cancelled"]
    assert len(errors) == 1
    assert errors[0]["message"] == "unhandled exception during asyncio.run() shutdown"
    assert isinstance(errors[0]["exception"], ZeroDivisionError)
    assert isinstance(errors[0]["task"], asyncio.Task)


def test_close_finalises_async_generators(impl: SimpleNamespace) -> None:
    events: list[str] = []

    async def agen() -> Any:
        try:
            yield 1
            yield 2
        finally:
            events.append("agen closed")

    holder: list[Any] = []

    async def main() -> None:
        gen = agen()
        holder.append(gen)
        await gen.__anext__()

    impl.run(main())
    assert events == ["agen closed"]


def test_close_shuts_down_default_executor(impl: SimpleNamespace) -> None:
    names: list[str] = []

    async def main() -> None:
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: names.append(threading.current_thread().name)
        )

    impl.run(main())
    assert len(names) == 1
    assert all(t.name != names[0] for t in threading.enumerate())


def test_close_sequence_with_loop_factory(impl: SimpleNamespace) -> None:
    loops: list[RecordingLoop] = []

    def factory() -> RecordingLoop:
        loops.append(RecordingLoop())
        return loops[-1]

    with impl.Runner(loop_factory=factory) as runner:
        assert runner.run(_answer()) == 42
        assert runner.get_loop() is loops[0]
    executor_args = (300,) if PY312 else ()
    assert loops[0].calls == [
        ("shutdown_asyncgens", ()),
        ("shutdown_default_executor", executor_args),
        ("close", ()),
    ]
    assert len(loops) == 1


def test_runner_lifecycle(impl: SimpleNamespace) -> None:
    runner = impl.Runner()
    runner.close()  # never initialised: a no-op, the runner stays usable
    loop = runner.get_loop()
    assert runner.get_loop() is loop
    assert runner.run(_answer()) == 42
    assert runner.run(_answer()) == 42
    assert not loop.is_closed()
    runner.close()
    assert loop.is_closed()
    runner.close()  # idempotent
    with pytest.raises(RuntimeError, match="^Runner is closed$"):
        runner.get_loop()
    coro = _answer()
    with pytest.raises(RuntimeError, match="^Runner is closed$"):
        runner.run(coro)
    coro.close()


def test_runner_sets_and_clears_current_loop(impl: SimpleNamespace) -> None:
    with impl.Runner() as runner:
        assert asyncio.get_event_loop() is runner.get_loop()
    with pytest.raises(RuntimeError, match="There is no current event loop"):
        asyncio.get_event_loop()


def test_runner_with_factory_leaves_current_loop_alone(impl: SimpleNamespace) -> None:
    asyncio.set_event_loop(None)
    with impl.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
        runner.get_loop()
        with pytest.raises(RuntimeError, match="There is no current event loop"):
            asyncio.get_event_loop()


def test_context_argument_and_shared_runner_context(impl: SimpleNamespace) -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")

    async def set_it(value: str) -> None:
        var.set(value)

    async def get_it() -> str:
        return var.get()

    ctx = contextvars.copy_context()
    ctx.run(var.set, "from ctx")
    with impl.Runner() as runner:
        assert runner.run(get_it(), context=ctx) == "from ctx"
        runner.run(set_it("first run"))
        # Every run() without context= shares the Runner's one context.
        assert runner.run(get_it()) == "first run"
    assert var.get() == "unset"


@pytest.mark.skipif(not PY312, reason="loop_factory is new in 3.12's asyncio.run")
def test_run_loop_factory(impl: SimpleNamespace) -> None:
    loops: list[RecordingLoop] = []

    def factory() -> RecordingLoop:
        loops.append(RecordingLoop())
        return loops[-1]

    async def main() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert impl.run(main(), loop_factory=factory) is loops[0]
    assert loops[0].is_closed()


@pytest.mark.skipif(PY312, reason="3.11's asyncio.run has no loop_factory")
def test_run_has_no_loop_factory_on_311(impl: SimpleNamespace) -> None:
    coro = _answer()
    with pytest.raises(TypeError):
        impl.run(coro, loop_factory=asyncio.SelectorEventLoop)
    coro.close()


def test_runner_in_a_thread(impl: SimpleNamespace) -> None:
    results: list[object] = []

    def worker() -> None:
        handler_before = signal.getsignal(signal.SIGINT)
        results.append(impl.run(_answer()))
        results.append(signal.getsignal(signal.SIGINT) is handler_before)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert results == [42, True]


# -- Ctrl-C ---------------------------------------------------------------------------------

needs_default_sigint = pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread()
    or signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
    reason="needs the main thread with Python's default SIGINT handler",
)


@needs_default_sigint
def test_sigint_cancels_main_task_then_raises_keyboard_interrupt(impl: SimpleNamespace) -> None:
    events: list[str] = []

    async def main() -> None:
        try:
            signal.raise_signal(signal.SIGINT)
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    with pytest.raises(KeyboardInterrupt) as info:
        impl.run(main())
    assert events == ["cancelled"]
    assert isinstance(info.value.__context__, asyncio.CancelledError)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@needs_default_sigint
def test_sigint_swallowed_by_main_task(impl: SimpleNamespace) -> None:
    async def main() -> str:
        try:
            signal.raise_signal(signal.SIGINT)
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            return "handled"
        return "not reached"

    assert impl.run(main()) == "handled"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@needs_default_sigint
def test_second_sigint_interrupts_at_once(impl: SimpleNamespace) -> None:
    events: list[str] = []

    async def main() -> None:
        try:
            signal.raise_signal(signal.SIGINT)
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("cancelled")
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                events.append("second interrupt")
                raise

    with pytest.raises(KeyboardInterrupt):
        impl.run(main())
    assert events == ["cancelled", "second interrupt"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@needs_default_sigint
def test_custom_sigint_handler_is_left_alone(impl: SimpleNamespace) -> None:
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        received.append(signum)

    async def main() -> str:
        assert signal.getsignal(signal.SIGINT) is handler
        signal.raise_signal(signal.SIGINT)
        await asyncio.sleep(0)
        return "done"

    signal.signal(signal.SIGINT, handler)
    try:
        assert impl.run(main()) == "done"
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert received == [signal.SIGINT]


@needs_default_sigint
def test_external_cancel_is_not_a_keyboard_interrupt(impl: SimpleNamespace) -> None:
    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        impl.run(main())
