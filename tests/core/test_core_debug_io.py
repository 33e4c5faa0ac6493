"""Debug mode, executors, async-generator shutdown and fd watching."""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "src")


def _asyncio_semantics(loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop does not follow asyncio here")


# ------------------------------------------------------------------ debug mode
def test_set_debug(loop: asyncio.AbstractEventLoop) -> None:
    assert loop.get_debug() is False
    loop.set_debug(True)
    assert loop.get_debug() is True
    loop.set_debug(False)
    assert loop.get_debug() is False


@pytest.mark.parametrize("module", ["asyncio", "batonio"])
def test_pythonasynciodebug_env(module: str) -> None:
    code = (
        "import asyncio, batonio\n"
        f"loop = batonio.new_event_loop() if {module!r} == 'batonio' else asyncio.new_event_loop()\n"
        "print(loop.get_debug())\n"
        "loop.close()\n"
    )
    env = dict(os.environ, PYTHONASYNCIODEBUG="1", PYTHONPATH=SRC)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_slow_callback_warning_names_task_and_coroutine(
    loop: asyncio.AbstractEventLoop, loop_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    _asyncio_semantics(loop_kind)
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01  # type: ignore[attr-defined]

    async def hog_the_loop() -> None:
        time.sleep(0.03)

    loop.run_until_complete(loop.create_task(hog_the_loop(), name="hog"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    matching = [m for m in warnings if m.startswith("Executing <Task")]
    assert matching, warnings
    assert "name='hog'" in matching[0]
    assert "hog_the_loop()" in matching[0]
    assert " took 0.0" in matching[0] and matching[0].endswith(" seconds")


def test_slow_plain_callback_warning(
    loop: asyncio.AbstractEventLoop, loop_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    _asyncio_semantics(loop_kind)
    caplog.set_level(logging.WARNING, logger="asyncio")
    loop.set_debug(True)
    loop.slow_callback_duration = 0.01  # type: ignore[attr-defined]

    def slow() -> None:
        time.sleep(0.03)

    loop.call_soon(slow)
    loop.call_soon(loop.stop)
    loop.run_forever()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Executing <Handle ") and "slow()" in m for m in messages), messages


def test_wrong_thread_call_soon_in_debug(
    loop: asyncio.AbstractEventLoop, loop_kind: str
) -> None:
    _asyncio_semantics(loop_kind)
    loop.set_debug(True)
    errors: list[BaseException] = []

    def other_thread() -> None:
        for call in (
            lambda: loop.call_soon(lambda: None),
            lambda: loop.call_later(1, lambda: None),
            lambda: loop.call_at(1, lambda: None),
        ):
            try:
                call()
            except RuntimeError as exc:
                errors.append(exc)

    async def main() -> None:
        t = threading.Thread(target=other_thread)
        t.start()
        await loop.run_in_executor(None, t.join)

    loop.run_until_complete(main())
    assert len(errors) == 3
    for exc in errors:
        assert str(exc) == (
            "Non-thread-safe operation invoked on an event loop other than the current one"
        )


def test_debug_mode_tracks_coroutine_origin(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _asyncio_semantics(loop_kind)
    loop.set_debug(True)
    seen: list[int] = []

    async def main() -> None:
        seen.append(sys.get_coroutine_origin_tracking_depth())

    before = sys.get_coroutine_origin_tracking_depth()
    loop.run_until_complete(main())
    assert seen[0] > 0
    assert sys.get_coroutine_origin_tracking_depth() == before


# ------------------------------------------------------------------ executors
def test_run_in_executor(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def main() -> tuple[Any, ...]:
        main_thread = threading.get_ident()
        r1 = await loop.run_in_executor(None, lambda a, b: (a + b, threading.get_ident()), 1, 2)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            r2 = await loop.run_in_executor(pool, pow, 2, 10)
        with pytest.raises(ZeroDivisionError):
            await loop.run_in_executor(None, lambda: 1 / 0)
        return r1[0], r1[1] != main_thread, r2

    assert run(main()) == (3, True, 1024)


def test_set_default_executor(loop: asyncio.AbstractEventLoop, run: Any, loop_kind: str) -> None:
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mine")
    try:
        loop.set_default_executor(pool)

        async def main() -> str:
            return await loop.run_in_executor(None, lambda: threading.current_thread().name)

        assert run(main()).startswith("mine")
        if loop_kind != "uvloop":
            with pytest.raises(TypeError, match="^executor must be ThreadPoolExecutor instance$"):
                loop.set_default_executor(object())
    finally:
        run(loop.shutdown_default_executor())
        pool.shutdown()


def test_shutdown_default_executor(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    async def main() -> None:
        await loop.run_in_executor(None, time.sleep, 0.005)
        await loop.shutdown_default_executor()
        with pytest.raises(RuntimeError, match="^Executor shutdown has been called$"):
            loop.run_in_executor(None, time.sleep, 0)

    run(main())


@pytest.mark.skipif(sys.version_info < (3, 12), reason="timeout= is 3.12+")
def test_shutdown_default_executor_timeout(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    """3.12+ accepts timeout=; the shutdown still waits for running work, as asyncio's does."""
    release = threading.Event()

    async def main() -> bool:
        work = loop.run_in_executor(None, release.wait, 5)
        await asyncio.sleep(0)
        loop.call_later(0.02, release.set)
        await loop.shutdown_default_executor(timeout=1)
        return await work

    assert run(main()) is True


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.11 has no timeout=")
def test_shutdown_default_executor_has_no_timeout_on_311(
    loop: asyncio.AbstractEventLoop, loop_kind: str
) -> None:
    _asyncio_semantics(loop_kind)
    with pytest.raises(TypeError, match="unexpected keyword argument 'timeout'"):
        loop.run_until_complete(loop.shutdown_default_executor(timeout=1))  # type: ignore[call-arg]


# ------------------------------------------------------------------ async generators
def test_shutdown_asyncgens_closes_open_generators(loop: asyncio.AbstractEventLoop, run: Any) -> None:
    closed: list[str] = []

    async def agen(name: str) -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(name)

    gens = [agen("a"), agen("b")]

    async def main() -> None:
        for g in gens:
            assert await g.__anext__() == 1

    run(main())
    assert closed == []
    run(loop.shutdown_asyncgens())
    assert sorted(closed) == ["a", "b"]


def test_shutdown_asyncgens_reports_failures(
    loop: asyncio.AbstractEventLoop, run: Any
) -> None:
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda lp, ctx: seen.append(ctx))

    async def bad() -> Any:
        try:
            yield 1
        finally:
            raise ValueError("cannot close")

    g = bad()

    async def main() -> None:
        await g.__anext__()

    run(main())
    run(loop.shutdown_asyncgens())
    assert len(seen) == 1
    assert seen[0]["message"].startswith("an error occurred during closing of asynchronous generator")
    assert isinstance(seen[0]["exception"], ValueError)
    assert seen[0]["asyncgen"] is g


def test_asyncgen_finalized_by_gc_is_closed_on_the_loop(
    loop: asyncio.AbstractEventLoop, run: Any
) -> None:
    import gc

    closed: list[bool] = []

    async def agen() -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    async def main() -> None:
        g = agen()
        await g.__anext__()
        del g
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)

    run(main())
    assert closed == [True]


# ------------------------------------------------------------------ fd watching
def test_add_remove_reader_writer(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    returns_bool = loop_kind != "uvloop"  # uvloop's remove_* return None
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    try:
        got: list[bytes] = []
        writable: list[int] = []
        done = loop.create_future()

        def on_readable(sock: socket.socket) -> None:
            data = sock.recv(100)
            got.append(data)
            if b"".join(got) == b"hello":
                removed = loop.remove_reader(sock)
                assert removed is True or not returns_bool
                done.set_result(None)

        def on_writable() -> None:
            writable.append(1)
            removed = loop.remove_writer(b.fileno())
            assert removed is True or not returns_bool
            b.send(b"hello")

        loop.add_reader(a, on_readable, a)
        loop.add_writer(b.fileno(), on_writable)
        loop.run_until_complete(asyncio.wait_for(done, 5))
        assert b"".join(got) == b"hello"
        assert writable == [1]
        if returns_bool:
            assert loop.remove_reader(a) is False
            assert loop.remove_writer(b) is False
    finally:
        a.close()
        b.close()


def test_reader_replaced_and_removed_before_run(loop: asyncio.AbstractEventLoop) -> None:
    a, b = socket.socketpair()
    try:
        calls: list[str] = []
        loop.add_reader(a.fileno(), calls.append, "old")
        loop.add_reader(a.fileno(), lambda: (calls.append("new"), a.recv(10)))
        b.send(b"x")

        async def main() -> None:
            for _ in range(3):
                await asyncio.sleep(0.005)

        loop.run_until_complete(main())
        assert calls == ["new"]
        b.send(b"y")
        loop.remove_reader(a.fileno())
        loop.run_until_complete(main())
        assert calls == ["new"]
    finally:
        a.close()
        b.close()


def test_add_reader_invalid_fd(loop: asyncio.AbstractEventLoop, loop_kind: str) -> None:
    _asyncio_semantics(loop_kind)
    with pytest.raises(ValueError, match=r"^Invalid file object: 'nope'$"):
        loop.add_reader("nope", lambda: None)
    with pytest.raises(ValueError, match=r"^Invalid file descriptor: -1$"):
        loop.add_reader(-1, lambda: None)
