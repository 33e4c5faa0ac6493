"""add_signal_handler / remove_signal_handler as a user sees them, on asyncio and batonio loops."""
from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import batonio

FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.SelectorEventLoop,
    "batonio": batonio.new_event_loop,
}


@pytest.fixture(params=list(FACTORIES))
def sloop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of each kind; SIGUSR1/SIGUSR2 dispositions restored afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGUSR1, signal.SIGUSR2)}
    loop = FACTORIES[request.param]()
    try:
        yield loop
    finally:
        if not loop.is_closed():
            loop.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(400):
        if predicate():
            return
        await asyncio.sleep(0.005)


def test_handler_runs_in_the_loop(sloop: asyncio.AbstractEventLoop) -> None:
    got: list[Any] = []

    def handler(*args: Any) -> None:
        got.append((args, threading.current_thread() is threading.main_thread()))

    async def main() -> None:
        sloop.add_signal_handler(signal.SIGUSR1, handler, "a", 1)
        os.kill(os.getpid(), signal.SIGUSR1)
        await _until(lambda: bool(got))

    sloop.run_until_complete(main())
    assert got == [(("a", 1), True)]


def test_replacing_and_removing(sloop: asyncio.AbstractEventLoop) -> None:
    got: list[str] = []

    async def main() -> list[Any]:
        sloop.add_signal_handler(signal.SIGUSR1, got.append, "first")
        sloop.add_signal_handler(signal.SIGUSR1, got.append, "second")
        os.kill(os.getpid(), signal.SIGUSR1)
        await _until(lambda: bool(got))
        return [sloop.remove_signal_handler(signal.SIGUSR1), sloop.remove_signal_handler(signal.SIGUSR1),
                signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL]

    assert sloop.run_until_complete(main()) == [True, False, True]
    assert got == ["second"]


def test_sigint_gets_python_default_back(sloop: asyncio.AbstractEventLoop) -> None:
    saved = signal.getsignal(signal.SIGINT)
    try:
        sloop.add_signal_handler(signal.SIGINT, print)
        assert sloop.remove_signal_handler(signal.SIGINT) is True
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, saved)


def test_close_removes_handlers(sloop: asyncio.AbstractEventLoop) -> None:
    sloop.add_signal_handler(signal.SIGUSR1, print)
    sloop.add_signal_handler(signal.SIGUSR2, print)
    sloop.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL
    assert signal.set_wakeup_fd(-1) == -1  # the wake-up fd was released


async def _coro_fn() -> None:
    pass


@pytest.mark.parametrize(
    "args, error, message",
    [
        (("1", print), TypeError, "^sig must be an int, not '1'$"),
        ((signal.NSIG + 1, print), ValueError, f"^invalid signal number {signal.NSIG + 1}$"),
        ((signal.SIGKILL, print), RuntimeError, f"^sig {signal.SIGKILL:d} cannot be caught$"),
        ((signal.SIGUSR1, _coro_fn), TypeError, r"^coroutines cannot be used with add_signal_handler\(\)$"),
    ],
)
def test_bad_input(sloop: asyncio.AbstractEventLoop, args: tuple[Any, ...], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        sloop.add_signal_handler(*args)


def test_remove_bad_signal(sloop: asyncio.AbstractEventLoop) -> None:
    with pytest.raises(TypeError, match="^sig must be an int"):
        sloop.remove_signal_handler("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^invalid signal number"):
        sloop.remove_signal_handler(signal.NSIG + 1)
    assert sloop.remove_signal_handler(signal.SIGUSR2) is False


def test_closed_loop(sloop: asyncio.AbstractEventLoop) -> None:
    sloop.close()
    with pytest.raises(RuntimeError, match="^Event loop is closed$"):
        sloop.add_signal_handler(signal.SIGUSR1, print)


def test_only_the_main_thread(sloop: asyncio.AbstractEventLoop) -> None:
    errors: list[BaseException] = []

    def other() -> None:
        try:
            sloop.add_signal_handler(signal.SIGUSR1, print)
        except BaseException as exc:  # noqa: BLE001 - the error is the observation
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert len(errors) == 1 and type(errors[0]) is RuntimeError
    assert "main thread" in str(errors[0])
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
