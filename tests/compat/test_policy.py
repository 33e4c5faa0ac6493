"""batonio's event loop policy, the loop access functions and install()/uninstall().

Policy behaviour is checked against asyncio's default policy (the oracle) where both apply.
"""
from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from unittest import mock

import pytest

from batonio._api import _loops
from batonio._api._loops import _loop_class
from batonio._compat import EventLoopPolicy, install, is_installed, uninstall

PY312 = sys.version_info >= (3, 12)

POLICIES: dict[str, Callable[[], asyncio.AbstractEventLoopPolicy]] = {
    "asyncio": asyncio.DefaultEventLoopPolicy,
    "batonio": EventLoopPolicy,
}


@pytest.fixture(autouse=True)
def _restore_policy() -> Iterator[None]:
    """Every test leaves the process-wide policy as it found it."""
    saved = asyncio.get_event_loop_policy()
    try:
        yield
    finally:
        uninstall()
        asyncio.set_event_loop_policy(saved)
        gc.collect()


@pytest.fixture(params=sorted(POLICIES))
def policy(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoopPolicy]:
    """A fresh policy, asyncio's (the oracle) or batonio's; its loops are closed afterwards."""
    pol = POLICIES[request.param]()
    try:
        yield pol
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                loop = pol.get_event_loop()
            except RuntimeError:
                loop = None
        if loop is not None:
            loop.close()


def _get_loop_quietly(pol: asyncio.AbstractEventLoopPolicy) -> asyncio.AbstractEventLoop:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pol.get_event_loop()


def test_loop_class_is_batonios() -> None:
    import batonio

    assert _loop_class() is batonio.EventLoop
    assert issubclass(_loop_class(), asyncio.AbstractEventLoop)


# -- the policy -----------------------------------------------------------------------------


def test_main_thread_gets_a_loop_on_demand(policy: asyncio.AbstractEventLoopPolicy) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop = policy.get_event_loop()
    assert isinstance(loop, asyncio.AbstractEventLoop)
    assert policy.get_event_loop() is loop
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    if PY312:
        assert [str(w.message) for w in deprecations] == ["There is no current event loop"]
        assert deprecations[0].filename == __file__
    else:
        assert deprecations == []


def test_batonio_policy_creates_batonio_loops() -> None:
    pol = EventLoopPolicy()
    loop = pol.new_event_loop()
    try:
        assert type(loop) is _loop_class()
        assert pol.new_event_loop is not None
    finally:
        loop.close()
    current = _get_loop_quietly(pol)
    try:
        assert type(current) is _loop_class()
    finally:
        current.close()


def test_no_loop_after_set_none(policy: asyncio.AbstractEventLoopPolicy) -> None:
    policy.set_event_loop(None)
    with pytest.raises(
        RuntimeError, match=r"^There is no current event loop in thread 'MainThread'\.$"
    ):
        policy.get_event_loop()


def test_set_and_get(policy: asyncio.AbstractEventLoopPolicy) -> None:
    loop = policy.new_event_loop()
    try:
        policy.set_event_loop(loop)
        assert policy.get_event_loop() is loop
    finally:
        policy.set_event_loop(None)
        loop.close()


def test_set_rejects_non_loops(policy: asyncio.AbstractEventLoopPolicy) -> None:
    with pytest.raises(
        TypeError,
        match=r"^loop must be an instance of AbstractEventLoop or None, not 'int'$",
    ):
        policy.set_event_loop(1)  # type: ignore[arg-type]


def test_other_threads_have_no_loop(policy: asyncio.AbstractEventLoopPolicy) -> None:
    outcome: list[object] = []
    loop = policy.new_event_loop()

    def worker() -> None:
        try:
            policy.get_event_loop()
        except RuntimeError as exc:
            outcome.append(str(exc))
        policy.set_event_loop(loop)
        outcome.append(policy.get_event_loop() is loop)

    try:
        thread = threading.Thread(target=worker, name="worker-7")
        thread.start()
        thread.join(30)
        assert outcome == ["There is no current event loop in thread 'worker-7'.", True]
        # The worker's loop is the worker's only.
        assert _get_loop_quietly(policy) is not loop
    finally:
        loop.close()


def test_child_watcher(policy: asyncio.AbstractEventLoopPolicy) -> None:
    from asyncio import unix_events

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        watcher = policy.get_child_watcher()
        assert policy.get_child_watcher() is watcher
        assert isinstance(watcher, unix_events.AbstractChildWatcher)
        fake = mock.Mock(spec=unix_events.ThreadedChildWatcher)
        policy.set_child_watcher(fake)
        loop = policy.new_event_loop()
        try:
            policy.set_event_loop(loop)
            fake.attach_loop.assert_called_once_with(loop)
        finally:
            policy.set_event_loop(None)
            loop.close()
        policy.set_child_watcher(None)
        fake.close.assert_called_once_with()
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    if PY312:
        assert "'get_child_watcher' is deprecated as of Python 3.12 and will be removed in Python 3.14." in messages
        assert "'set_child_watcher' is deprecated as of Python 3.12 and will be removed in Python 3.14." in messages
    else:
        assert messages == []


# -- the module-level functions -------------------------------------------------------------


def test_running_loop_functions() -> None:
    assert _loops._get_running_loop() is None
    with pytest.raises(RuntimeError, match="^no running event loop$"):
        _loops.get_running_loop()
    loop = _loops.new_event_loop()
    try:
        assert type(loop) is _loop_class()

        async def probe() -> bool:
            running = _loops.get_running_loop()
            return (
                running is loop
                and _loops._get_running_loop() is loop
                and _loops.get_event_loop() is loop
                and asyncio.get_running_loop() is loop
            )

        assert loop.run_until_complete(probe())
    finally:
        loop.close()


def test_set_event_loop_goes_through_the_policy() -> None:
    pol = EventLoopPolicy()
    _loops.set_event_loop_policy(pol)
    assert _loops.get_event_loop_policy() is pol
    assert asyncio.get_event_loop_policy() is pol
    loop = _loops.new_event_loop()
    try:
        _loops.set_event_loop(loop)
        assert pol.get_event_loop() is loop
        assert _loops.get_event_loop() is loop
        assert asyncio.get_event_loop() is loop
    finally:
        _loops.set_event_loop(None)
        loop.close()


def test_set_event_loop_policy_checks_type() -> None:
    with pytest.raises(
        TypeError,
        match=r"^policy must be an instance of AbstractEventLoopPolicy or None, not 'str'$",
    ):
        _loops.set_event_loop_policy("nope")  # type: ignore[arg-type]
    _loops.set_event_loop_policy(None)
    assert type(_loops.get_event_loop_policy()) is asyncio.DefaultEventLoopPolicy


def test_get_event_loop_warning_blames_the_caller() -> None:
    _loops.set_event_loop_policy(EventLoopPolicy())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loop = _loops.get_event_loop()
    try:
        if PY312:
            assert len(caught) == 1
            assert caught[0].filename == __file__
        else:
            assert caught == []
    finally:
        loop.close()


# -- install() ------------------------------------------------------------------------------


def test_install_is_idempotent_and_undoable() -> None:
    before = asyncio.get_event_loop_policy()
    assert not is_installed()
    install()
    installed = asyncio.get_event_loop_policy()
    assert isinstance(installed, EventLoopPolicy)
    assert is_installed()
    install()
    assert asyncio.get_event_loop_policy() is installed
    uninstall()
    assert asyncio.get_event_loop_policy() is before
    uninstall()
    assert asyncio.get_event_loop_policy() is before


def test_uninstall_keeps_a_policy_set_after_install() -> None:
    install()
    mine = asyncio.DefaultEventLoopPolicy()
    asyncio.set_event_loop_policy(mine)
    uninstall()
    assert asyncio.get_event_loop_policy() is mine


def test_installed_asyncio_creates_batonio_loops() -> None:
    install()

    async def loop_type() -> type:
        return type(asyncio.get_running_loop())

    loop = asyncio.new_event_loop()
    try:
        assert type(loop) is _loop_class()
    finally:
        loop.close()
    assert asyncio.run(loop_type()) is _loop_class()
    with asyncio.Runner() as runner:
        assert runner.run(loop_type()) is _loop_class()
    uninstall()
    install()  # a fresh policy: no set_event_loop(None) from the runs above
    current = _get_loop_quietly(asyncio.get_event_loop_policy())
    try:
        assert type(current) is _loop_class()
    finally:
        current.close()


@pytest.mark.skipif(not PY312 or not hasattr(os, "fork"), reason="3.12+ resets loops at fork")
def test_forked_child_forgets_current_loop() -> None:
    pol = EventLoopPolicy()
    loop = pol.new_event_loop()
    try:
        pol.set_event_loop(loop)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads alive
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            try:
                try:
                    pol.get_event_loop().close()  # a fresh loop, made on demand
                    forgot = pol.get_event_loop() is not loop
                except BaseException:
                    forgot = False
            finally:
                os._exit(0 if forgot else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert pol.get_event_loop() is loop
    finally:
        pol.set_event_loop(None)
        loop.close()
