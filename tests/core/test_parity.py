"""Differential tests: the same misuse or edge case on stock asyncio and on batonio.

Each scenario runs once on asyncio's loop with asyncio's objects (its C Future and Task) and
once on batonio's loop with batonio's objects, and what a user sees (the result, or the
exception's type and message, and what reached the exception handler) must be the same.
The oracle is the asyncio of the running Python, so per-version differences (3.13's
``sleep(nan)`` check, for one) are covered without naming versions here.
"""
from __future__ import annotations

import asyncio
import contextvars
import gc
import inspect
import math
import subprocess
import sys
import tempfile
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import batonio
import batonio._core as core

SRC = str(Path(batonio.__file__).resolve().parent.parent)


class Side:
    """One implementation under comparison: a loop factory and the classes that go with it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ns: Any = asyncio if name == "asyncio" else batonio
        self.future_class: Any = asyncio.Future if name == "asyncio" else core.Future
        self.task_class: Any = asyncio.Task if name == "asyncio" else core.Task

    def new_loop(self) -> asyncio.AbstractEventLoop:
        """A fresh loop of this side."""
        if self.name == "asyncio":
            return asyncio.SelectorEventLoop()
        return batonio.new_event_loop()


SIDES = [Side("asyncio"), Side("batonio")]


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """What calling ``fn`` shows a user: ("ok", value) or (exception type, message)."""
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - the exception is the observation
        return (type(exc).__name__, str(exc))


def _both(scenario: Callable[[Side], Any]) -> tuple[Any, Any]:
    """Run ``scenario`` on asyncio, then on batonio; return both outcomes."""
    results = []
    for side in SIDES:
        results.append(_outcome(lambda side=side: scenario(side)))  # type: ignore[misc]
        gc.collect()
    return results[0], results[1]


def _assert_same(scenario: Callable[[Side], Any]) -> None:
    expected, actual = _both(scenario)
    assert actual == expected


async def _never() -> None:
    await asyncio.sleep(3600)


# ------------------------------------------------------------------ a closed loop
# asyncio's Future hands its done-callbacks to loop.call_soon, which refuses on a closed
# loop: the completion raises, instead of the callbacks silently never running.

def _closed_with_callback(side: Side, complete: Callable[[Any], Any]) -> Any:
    loop = side.new_loop()
    fut = loop.create_future()
    seen: list[Any] = []
    fut.add_done_callback(seen.append)
    loop.close()
    try:
        return complete(fut)
    finally:
        assert fut.done()
        assert seen == []


@pytest.mark.parametrize(
    "complete",
    [
        pytest.param(lambda f: f.set_result(1), id="set_result"),
        pytest.param(lambda f: f.set_exception(ValueError("v")), id="set_exception"),
        pytest.param(lambda f: f.cancel(), id="cancel"),
    ],
)
def test_completing_future_with_callbacks_on_closed_loop(complete: Callable[[Any], Any]) -> None:
    expected, actual = _both(lambda side: _closed_with_callback(side, complete))
    assert expected == ("RuntimeError", "Event loop is closed")
    assert actual == expected


def test_completing_future_without_callbacks_on_closed_loop() -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        fut = loop.create_future()
        loop.close()
        fut.set_result(1)
        return fut.result()

    expected, actual = _both(scenario)
    assert expected == ("ok", 1)
    assert actual == expected


def test_add_done_callback_to_done_future_on_closed_loop() -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        fut = loop.create_future()
        fut.set_result(1)
        loop.close()
        fut.add_done_callback(print)

    expected, actual = _both(scenario)
    assert expected == ("RuntimeError", "Event loop is closed")
    assert actual == expected


def _waiter_woken_on_closed_loop(side: Side, ns_name: str, kind: str) -> Any:
    """A task parks on a primitive; the loop closes; waking the task must raise."""
    ns: Any = asyncio if ns_name == "asyncio" else batonio
    loop = side.new_loop()
    if kind == "event":
        obj: Any = ns.Event()
        wait: Any = obj.wait
        wake: Callable[[], Any] = obj.set
    elif kind == "queue":
        obj = ns.Queue()
        wait, wake = obj.get, (lambda: obj.put_nowait(1))
    elif kind == "lock":
        obj = ns.Lock()
        loop.run_until_complete(obj.acquire())
        wait, wake = obj.acquire, obj.release
    elif kind == "semaphore":
        obj = ns.Semaphore(0)
        wait, wake = obj.acquire, obj.release
    elif kind == "future":
        obj = loop.create_future()
        wait, wake = (lambda: obj), (lambda: obj.set_result(1))
    else:  # a task's cancel() cancels the future it waits on
        obj = loop.create_future()
        wait = lambda: obj  # noqa: E731
        wake = lambda: task.cancel()  # noqa: E731

    async def waiter() -> None:
        await wait()

    task = loop.create_task(waiter())
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    try:
        return wake()
    finally:
        task._log_destroy_pending = False  # the task can never finish: say so, not warn
        task.get_coro().close()


@pytest.mark.parametrize("ns_name", ["asyncio", "batonio"])
@pytest.mark.parametrize("kind", ["event", "queue", "lock", "semaphore", "future", "task_cancel"])
def test_waking_a_waiter_on_closed_loop(ns_name: str, kind: str) -> None:
    expected, actual = _both(lambda side: _waiter_woken_on_closed_loop(side, ns_name, kind))
    assert expected == ("RuntimeError", "Event loop is closed")
    assert actual == expected


def test_condition_notify_on_closed_loop() -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        cond = side.ns.Condition()

        async def waiter() -> None:
            async with cond:
                await cond.wait()

        async def notify_later() -> None:
            await cond.acquire()  # held by us once the waiter sits in wait()

        task = loop.create_task(waiter())
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(notify_later())
        loop.close()
        try:
            cond.notify()
        finally:
            task._log_destroy_pending = False
            try:
                task.get_coro().close()
            except AttributeError:
                pass  # wait()'s finally re-acquires the lock with no loop running

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected, actual = _both(scenario)
    assert expected == ("RuntimeError", "Event loop is closed")
    assert actual == expected


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda loop: loop.call_soon(print), id="call_soon"),
        pytest.param(lambda loop: loop.call_soon_threadsafe(print), id="call_soon_threadsafe"),
        pytest.param(lambda loop: loop.call_later(1, print), id="call_later"),
        pytest.param(lambda loop: loop.call_at(1, print), id="call_at"),
        pytest.param(lambda loop: loop.call_later(None, print), id="call_later_none"),
        pytest.param(lambda loop: type(loop.create_future()).__name__, id="create_future"),
        pytest.param(lambda loop: loop.remove_reader(0), id="remove_reader"),
        pytest.param(lambda loop: loop.remove_writer(0), id="remove_writer"),
        pytest.param(lambda loop: loop.run_in_executor(None, print), id="run_in_executor"),
    ],
)
def test_scheduling_on_closed_loop(call: Callable[[Any], Any]) -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        loop.close()
        return call(loop)

    _assert_same(scenario)


def test_create_task_on_closed_loop() -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        loop.close()
        coro = _never()
        try:
            return loop.create_task(coro)
        finally:
            coro.close()

    expected, actual = _both(scenario)
    assert expected == ("RuntimeError", "Event loop is closed")
    assert actual == expected


# ------------------------------------------------------------------ debug mode
@pytest.mark.parametrize("value", [1, "x", None, 0, True, False, ""])
def test_set_debug_keeps_the_value_given(value: Any) -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        try:
            loop.set_debug(value)
            return loop.get_debug()
        finally:
            loop.close()

    expected, actual = _both(scenario)
    assert expected == ("ok", value)
    assert actual == expected


@pytest.mark.parametrize("value", [1, 0, "", "yes"])
def test_runner_debug_keeps_the_value_given(value: Any) -> None:
    async def main() -> Any:
        return asyncio.get_running_loop().get_debug()

    def scenario(side: Side) -> Any:
        with side.ns.Runner(debug=value, loop_factory=side.new_loop) as runner:
            return runner.run(main())

    expected, actual = _both(scenario)
    assert expected == ("ok", value)
    assert actual == expected


def test_batonio_run_debug_keeps_the_value_given() -> None:
    async def main() -> Any:
        return asyncio.get_running_loop().get_debug()

    assert batonio.run(main(), debug=1) == 1


# ------------------------------------------------------------------ callbacks outside debug
async def _coro_fn() -> None:
    pass


def _run_callback_outside_debug(side: Side, schedule: Callable[[Any], Any]) -> Any:
    """Schedule through ``schedule`` outside debug mode; run; return what was reported."""
    loop = side.new_loop()
    reported: list[Any] = []
    loop.set_exception_handler(lambda lp, ctx: reported.append(ctx))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the coroutine is never awaited
            handle = schedule(loop)
            loop.run_until_complete(asyncio.sleep(0.001))
            gc.collect()
        return (
            type(handle).__name__,
            [(c["message"].split(" ")[0], type(c.get("exception")).__name__, str(c.get("exception"))) for c in reported],
        )
    finally:
        loop.close()


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param(lambda loop: loop.call_soon(_coro_fn), id="call_soon-coroutine-function"),
        pytest.param(lambda loop: loop.call_later(0, _coro_fn), id="call_later-coroutine-function"),
        pytest.param(lambda loop: loop.call_at(0, _coro_fn), id="call_at-coroutine-function"),
        pytest.param(lambda loop: loop.call_soon_threadsafe(_coro_fn), id="threadsafe-coroutine-function"),
        pytest.param(lambda loop: loop.call_soon(1), id="call_soon-non-callable"),
        pytest.param(lambda loop: loop.call_later(0, 1), id="call_later-non-callable"),
    ],
)
def test_callbacks_are_not_checked_outside_debug(schedule: Callable[[Any], Any]) -> None:
    expected, actual = _both(lambda side: _run_callback_outside_debug(side, schedule))
    assert expected[0] == "ok"
    assert actual == expected


# ------------------------------------------------------------------ context= not a Context
class _RunsInCopy:
    """Not a Context, but has the ``run`` asyncio calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._ctx = contextvars.copy_context()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        self.calls += 1
        return self._ctx.run(fn, *args)


def _with_context(side: Side, what: str, context: Any) -> Any:
    loop = side.new_loop()
    reported: list[Any] = []
    loop.set_exception_handler(lambda lp, ctx: reported.append(ctx))
    results: list[Any] = []
    task = None
    try:
        if what == "call_soon":
            loop.call_soon(results.append, 1, context=context)
        elif what == "call_later":
            loop.call_later(0, results.append, 1, context=context)
        elif what == "add_done_callback":
            fut = loop.create_future()
            fut.add_done_callback(lambda f: results.append(f.result()), context=context)
            fut.set_result(1)
        else:
            async def body() -> None:
                results.append(1)

            task = loop.create_task(body(), context=context)
        loop.run_until_complete(asyncio.sleep(0.001))
        errors = [(type(c.get("exception")).__name__, str(c.get("exception"))) for c in reported]
        pending = None if task is None else not task.done()
        return results, errors, pending
    finally:
        if task is not None and not task.done():
            task._log_destroy_pending = False
            task.get_coro().close()
        loop.close()


@pytest.mark.parametrize("what", ["call_soon", "call_later", "add_done_callback", "create_task"])
def test_context_that_is_not_a_context(what: str) -> None:
    """asyncio checks nothing: the callback fails when it runs (no ``run``), reported."""
    expected, actual = _both(lambda side: _with_context(side, what, 1))
    assert expected[0] == "ok" and expected[1][1] == [("AttributeError", "'int' object has no attribute 'run'")]
    assert actual == expected


@pytest.mark.parametrize("what", ["call_soon", "add_done_callback", "create_task"])
def test_context_with_a_run_method_is_used(what: str) -> None:
    def scenario(side: Side) -> Any:
        ctx = _RunsInCopy()
        outcome = _with_context(side, what, ctx)
        return outcome, ctx.calls > 0

    expected, actual = _both(scenario)
    assert expected[0] == "ok" and expected[1][1] is True
    assert actual == expected


# ------------------------------------------------------------------ NaN delays
@pytest.mark.parametrize("delay", [math.nan, -math.nan, math.inf, -math.inf, -1, 0])
def test_sleep_edge_delays(delay: float) -> None:
    """sleep(nan): 3.13 raises ValueError, earlier versions sleep until cancelled."""

    def scenario(side: Side) -> Any:
        async def main() -> str:
            try:
                await side.ns.wait_for(side.ns.sleep(delay), 0.01)
                return "returned"
            except TimeoutError:
                return "timed out"

        loop = side.new_loop()
        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()

    _assert_same(scenario)


def test_call_later_nan() -> None:
    """Up to 3.12 a NaN timer runs at once; 3.13's selector cannot convert its timeout."""

    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        ran: list[int] = []
        try:
            loop.call_later(math.nan, ran.append, 1)
            loop.call_later(0.01, loop.stop)
            loop.run_forever()
            return ran
        finally:
            loop.close()

    _assert_same(scenario)


# ------------------------------------------------------------------ messages of the C Future
class _MyStop(StopIteration):
    pass


FUTURE_MISUSE: list[Any] = [
    pytest.param(lambda f, t: f(0).result(), id="result-pending"),
    pytest.param(lambda f, t: f(0).exception(), id="exception-pending"),
    pytest.param(lambda f, t: f(1).set_result(2), id="set_result-done"),
    pytest.param(lambda f, t: f(2).set_result(2), id="set_result-cancelled"),
    pytest.param(lambda f, t: f(1).set_exception(ValueError()), id="set_exception-done"),
    pytest.param(lambda f, t: f(2).set_exception(ValueError()), id="set_exception-cancelled"),
    pytest.param(lambda f, t: f(0).set_exception("x"), id="set_exception-not-exception"),
    pytest.param(lambda f, t: f(0).set_exception(int), id="set_exception-not-exception-class"),
    pytest.param(lambda f, t: f(0).set_exception(StopIteration()), id="set_exception-StopIteration"),
    pytest.param(lambda f, t: setattr(f(0), "_log_traceback", True), id="_log_traceback-True"),
    pytest.param(lambda f, t: t.set_result(1), id="task-set_result"),
    pytest.param(lambda f, t: t.set_exception(ValueError()), id="task-set_exception"),
    pytest.param(lambda f, t: t.result(), id="task-result-pending"),
    pytest.param(lambda f, t: t.exception(), id="task-exception-pending"),
    pytest.param(lambda f, t: next(_await_twice(f(0))), id="await-twice"),
    pytest.param(lambda f, t: f(0).__await__().throw(1), id="throw-not-exception"),
    pytest.param(lambda f, t: f(0).__await__().throw(ValueError(), 1), id="throw-instance-and-value"),
    pytest.param(lambda f, t: f(0).__await__().throw(ValueError, None, 1), id="throw-bad-traceback"),
]


def _await_twice(fut: Any) -> Any:
    it = fut.__await__()
    next(it)
    yield next(it)


@pytest.mark.parametrize("misuse", FUTURE_MISUSE)
def test_future_and_task_messages_are_the_c_implementations(misuse: Callable[[Any, Any], Any]) -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()

        def make(state: int) -> Any:
            fut = side.future_class(loop=loop)
            if state == 1:
                fut.set_result(1)
            elif state == 2:
                fut.cancel()
            return fut

        task = side.task_class(_never(), loop=loop)
        try:
            return misuse(make, task)
        finally:
            task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    expected, actual = _both(scenario)
    assert actual == expected


def test_stop_iteration_subclass_into_future() -> None:
    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        try:
            fut = side.future_class(loop=loop)
            fut.set_exception(_MyStop())
            return type(fut.exception()).__name__
        finally:
            loop.close()

    _assert_same(scenario)


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(lambda u: u.get_loop(), id="get_loop"),
        pytest.param(lambda u: u.result(), id="result"),
        pytest.param(lambda u: u.exception(), id="exception"),
        pytest.param(lambda u: u.done(), id="done"),
        pytest.param(lambda u: u.cancelled(), id="cancelled"),
        pytest.param(lambda u: u.cancel(), id="cancel"),
        pytest.param(lambda u: u.set_result(1), id="set_result"),
        pytest.param(lambda u: u.set_exception(ValueError()), id="set_exception"),
        pytest.param(lambda u: u.add_done_callback(print), id="add_done_callback"),
        pytest.param(lambda u: u.remove_done_callback(print), id="remove_done_callback"),
        pytest.param(lambda u: repr(u), id="repr"),
        pytest.param(lambda u: u.__await__(), id="await"),
        pytest.param(lambda u: u._callbacks, id="_callbacks"),
        pytest.param(lambda u: u._log_traceback, id="_log_traceback"),
    ],
)
def test_uninitialized_future(use: Callable[[Any], Any]) -> None:
    """A Future made by __new__ alone (a subclass that forgot super().__init__)."""
    _assert_same(lambda side: use(side.future_class.__new__(side.future_class)))


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(lambda u: u.get_loop(), id="get_loop"),
        pytest.param(lambda u: u.cancel(), id="cancel"),
        pytest.param(lambda u: u.done(), id="done"),
        pytest.param(lambda u: u.result(), id="result"),
    ],
)
def test_uninitialized_task(use: Callable[[Any], Any]) -> None:
    # Only what asyncio's C Task survives: get_coro() or get_name() on it crash 3.11/3.12.
    _assert_same(lambda side: use(side.task_class.__new__(side.task_class)))


@pytest.mark.parametrize(
    "args, kwargs",
    [((1,), {}), ((1, 2), {}), ((), {"bogus": 1}), ((1,), {"bogus": 1}), ((), {"bogus": 1, "x": 2}),
     ((), {"loop": None, "bogus": 1}), ((None,), {"loop": None})],
)
def test_future_constructor_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _assert_same(lambda side: side.future_class(*args, **kwargs))


# ------------------------------------------------------------------ fds a poller refuses
def test_refused_fd_leaves_nothing_to_remove() -> None:
    """epoll refuses a regular file: nothing is kept, so remove_*() return False."""

    def scenario(side: Side) -> Any:
        loop = side.new_loop()
        steps: list[Any] = []
        with tempfile.TemporaryFile() as f:
            try:
                steps.append(_outcome(lambda: loop.add_writer(f, print))[0])
                steps.append(_outcome(lambda: loop.remove_writer(f)))
                steps.append(_outcome(lambda: loop.add_reader(f, print))[0])
                steps.append(_outcome(lambda: loop.remove_reader(f)))
                loop.run_until_complete(asyncio.sleep(0))
            finally:
                loop.close()
        return steps

    expected, actual = _both(scenario)
    assert expected == ("ok", ["PermissionError", ("ok", False), "PermissionError", ("ok", False)])
    assert actual == expected


# ------------------------------------------------------------------ interpreter shutdown
SHUTDOWN_PROGRAM = """\
import asyncio, sys
import batonio

async def forever():
    await asyncio.sleep(3600)

loop = batonio.new_event_loop()
task = loop.create_task(forever())
loop.run_until_complete(asyncio.sleep(0))
# exits with the task pending, the loop unclosed: both die during interpreter shutdown
"""


@pytest.mark.parametrize("mode", ["compiled", "pure"])
def test_pending_task_repr_during_interpreter_shutdown(tmp_path: Path, mode: str) -> None:
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent(SHUTDOWN_PROGRAM))
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}
    if mode == "pure":
        env["BATONIO_NO_EXTENSIONS"] = "1"
    done = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Task was destroyed but it is pending!" in done.stderr
    assert "task: <Task pending name='Task-1' coro=<forever() running at " in done.stderr
    assert "Error" not in done.stderr, done.stderr


# ------------------------------------------------------------------ coroutine objects
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda ns: ns.sleep(0), id="sleep"),
        pytest.param(lambda ns: ns.sleep(1, "r"), id="sleep-timer"),
        pytest.param(lambda ns: ns.wait_for(asyncio.sleep(0), 1), id="wait_for"),
        pytest.param(lambda ns: ns.wait([asyncio.sleep(0)]), id="wait"),
    ],
)
def test_api_coroutines_are_native_coroutines(make: Callable[[Any], Any]) -> None:
    """inspect.iscoroutine (an exact type check libraries rely on) accepts them, as asyncio's."""

    def scenario(side: Side) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the inner sleep(0) never runs
            coro = make(side.ns)
            try:
                return inspect.iscoroutine(coro), asyncio.iscoroutine(coro), inspect.isawaitable(coro)
            finally:
                coro.close()
                gc.collect()

    expected, actual = _both(scenario)
    assert expected == ("ok", (True, True, True))
    assert actual == expected
