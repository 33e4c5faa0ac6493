"""The pytest plugin: ``async def`` tests and fixtures on batonio's loop, with leak checks.

Registered by the ``pytest11`` entry point ``batonio`` (``pytest -p batonio`` loads it too).

Which tests it runs (and nothing else, so that pytest-asyncio and anyio keep theirs):

- ``async def`` tests marked ``@pytest.mark.batonio``, or with the ini option
  ``batonio_mode = auto`` every ``async def`` test not marked ``asyncio`` or ``anyio`` and
  not asking for ``anyio_backend``;
- ``@pytest.mark.batonio(virtual_time=True, chaos_seed=N, check_leaks=True)``: the loop gets
  a :class:`batonio.VirtualClock` and/or chaos scheduling with seed N;
- ``--batonio-chaos-seeds N`` runs each of them under seeds 0..N-1 (one test item per seed,
  ``test_x[batonio-seed-3]``); a failure names its seed and the command that reproduces it
  (``--batonio-chaos-seed 3``).

One loop per test: its ``async def`` fixtures (function scope; coroutine or async
generator) run on it, then the test, then the fixtures' teardown.  Then the leak check: a
task still pending, a transport not closed, an fd the loop still watches (a server not
closed), or an fd of the process opened during the test and not closed, fails the test at
teardown with the culprit named; pending tasks are cancelled first, so the loop closes clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import os
import shlex
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest

from batonio._debug import VirtualClock
from batonio._loop import new_event_loop

__all__ = [
    "_batonio_chaos_seed",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_fixture_setup",
    "pytest_generate_tests",
    "pytest_pyfunc_call",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_runtest_teardown",
]

_LOOP = pytest.StashKey["asyncio.AbstractEventLoop"]()
_FDS_BEFORE = pytest.StashKey[dict[int, str]]()
_SEED = pytest.StashKey["int | None"]()
_SEED_FIXTURE = "_batonio_chaos_seed"
_OTHER_RUNNERS = ("asyncio", "anyio")
_MARKER_OPTIONS = ("virtual_time", "chaos_seed", "check_leaks")


# -- options and markers ---------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    """The ini option batonio_mode and the chaos seed command-line options."""
    group = parser.getgroup("batonio", "batonio event loop")
    group.addoption("--batonio-chaos-seeds", type=int, metavar="N", default=None,
                    help="run every batonio test under chaos seeds 0..N-1")
    group.addoption("--batonio-chaos-seed", type=int, metavar="SEED", default=None,
                    help="run every batonio test under this one chaos seed")
    parser.addini("batonio_mode", "strict: only tests marked batonio; auto: every async def "
                  "test not marked asyncio/anyio", default="strict")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; refuse bad option values with a clear message."""
    config.addinivalue_line(
        "markers", "batonio(virtual_time=False, chaos_seed=None, check_leaks=True): run this "
        "async def test on batonio's event loop")
    mode = config.getini("batonio_mode")
    if mode not in ("strict", "auto"):
        raise pytest.UsageError(f"batonio_mode must be 'strict' or 'auto', not {mode!r}")
    seeds = config.getoption("batonio_chaos_seeds")
    if seeds is not None and seeds < 1:
        raise pytest.UsageError(f"--batonio-chaos-seeds must be at least 1, not {seeds}")


def _marker_options(item: Any) -> dict[str, Any]:
    marker = item.get_closest_marker("batonio")
    options: dict[str, Any] = {"virtual_time": False, "chaos_seed": None, "check_leaks": True}
    if marker is None:
        return options
    if marker.args:
        raise pytest.UsageError(f"{item.nodeid}: batonio marker takes keyword arguments "
                                f"only ({', '.join(_MARKER_OPTIONS)}), got {marker.args!r}")
    unknown = set(marker.kwargs) - set(_MARKER_OPTIONS)
    if unknown:
        raise pytest.UsageError(f"{item.nodeid}: unknown batonio marker option(s) "
                                f"{', '.join(sorted(unknown))}; known: "
                                f"{', '.join(_MARKER_OPTIONS)}")
    options.update(marker.kwargs)
    seed = options["chaos_seed"]
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise pytest.UsageError(f"{item.nodeid}: chaos_seed must be an int, got {seed!r}")
    return options


def _is_ours(item: Any) -> bool:
    """Whether the plugin runs this test: an async def test it was asked to run."""
    function = getattr(item, "obj", None)
    if not inspect.iscoroutinefunction(function):
        return False
    if item.get_closest_marker("batonio") is not None:
        return True
    if item.config.getini("batonio_mode") != "auto":
        return False
    if any(item.get_closest_marker(name) is not None for name in _OTHER_RUNNERS):
        return False
    return "anyio_backend" not in getattr(item, "fixturenames", ())


# -- one item per chaos seed ----------------------------------------------------------------

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With --batonio-chaos-seeds N, parametrise our tests over seeds 0..N-1."""
    count = metafunc.config.getoption("batonio_chaos_seeds")
    if count is None or not inspect.iscoroutinefunction(metafunc.function):
        return
    marker = metafunc.definition.get_closest_marker("batonio")
    if marker is not None and marker.kwargs.get("chaos_seed") is not None:
        return  # the test names its own seed
    if marker is None and not _would_be_ours(metafunc):
        return
    metafunc.fixturenames.append(_SEED_FIXTURE)
    metafunc.parametrize(_SEED_FIXTURE, range(count), ids=[f"batonio-seed-{s}"
                                                           for s in range(count)])


def _would_be_ours(metafunc: pytest.Metafunc) -> bool:
    if metafunc.config.getini("batonio_mode") != "auto":
        return False
    definition = metafunc.definition
    if any(definition.get_closest_marker(name) is not None for name in _OTHER_RUNNERS):
        return False
    return "anyio_backend" not in metafunc.fixturenames


@pytest.fixture
def _batonio_chaos_seed(request: pytest.FixtureRequest) -> int:
    """The chaos seed of this run of the test (with --batonio-chaos-seeds)."""
    return request.param  # type: ignore[no-any-return]


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Check the marker options of our tests at collection, before anything runs."""
    for item in items:
        if _is_ours(item):
            _marker_options(item)


def _seed_of(item: Any, options: dict[str, Any]) -> int | None:
    if options["chaos_seed"] is not None:
        return int(options["chaos_seed"])
    callspec = getattr(item, "callspec", None)
    if callspec is not None and _SEED_FIXTURE in callspec.params:
        return int(callspec.params[_SEED_FIXTURE])
    seed = item.config.getoption("batonio_chaos_seed")
    return None if seed is None else int(seed)


# -- the loop of a test ----------------------------------------------------------------------

def _open_fds() -> dict[int, str]:
    """The process's open fds and what each is (a path, socket:[inode], pipe:[inode])."""
    fds: dict[int, str] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return fds
    for name in names:
        with contextlib.suppress(OSError):
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return fds


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Give each of our tests its own batonio loop before its fixtures are set up."""
    if _is_ours(item):
        options = _marker_options(item)
        seed = _seed_of(item, options)
        item.stash[_FDS_BEFORE] = _open_fds()
        item.stash[_SEED] = seed
        clock = VirtualClock() if options["virtual_time"] else None
        loop = new_event_loop(clock=clock, chaos_seed=seed)
        item.stash[_LOOP] = loop
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None
                            ) -> Generator[None, None, None]:
    """After the fixtures' teardown: check for leaks, close the loop, check the fds."""
    try:
        return (yield)
    finally:
        loop = item.stash.get(_LOOP, None)
        if loop is not None:
            del item.stash[_LOOP]
            _close_and_check(item, loop)


def _close_and_check(item: Any, loop: asyncio.AbstractEventLoop) -> None:
    check = _marker_options(item)["check_leaks"]
    leaks: list[str] = []
    try:
        leaks += _pending_tasks(loop)
        leaks += _open_transports(loop)
        leaks += _watched_fds(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    before = item.stash.get(_FDS_BEFORE, None)
    if before is not None:
        leaks += _new_fds(before)
    if leaks and check:
        pytest.fail("batonio leak check: the test left\n" + "\n".join(f"  - {leak}"
                                                                     for leak in leaks),
                    pytrace=False)


def _pending_tasks(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Name every unfinished task (with where it waits), then cancel them all."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    found = [f"pending task {t!r}, waiting at {_where(t)}" for t in tasks]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    return found


def _where(task: Any) -> str:
    frames = task.get_stack()
    if not frames:
        return "(no frame)"
    frame = frames[-1]
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def _open_transports(loop: Any) -> list[str]:
    transports = getattr(loop, "_transports", None)
    if transports is None:
        return []
    found = []
    for transport in list(transports.values()):
        if not transport.is_closing():
            found.append(f"unclosed transport {transport!r}")
            transport.abort()
    return found


def _watched_fds(loop: Any) -> list[str]:
    """fds the loop still watches: a server not closed, an add_reader not removed."""
    found = []
    for kind in ("reader", "writer"):
        table = getattr(loop, f"_{kind}s", None) or {}
        for fd, handle in list(table.items()):
            server = _server_of(handle)
            if server is not None:
                found.append(f"server {server!r} not closed (listening on fd {fd})")
                server.close()
                continue
            callback = getattr(handle, "_callback", handle)
            found.append(f"fd {fd} still watched for {kind[:-2]}ing by {callback!r}")
            getattr(loop, f"remove_{kind}")(fd)
    return found


def _server_of(handle: Any) -> asyncio.AbstractServer | None:
    """The server whose listening socket a reader handle serves, if it is one."""
    args = getattr(handle, "_args", None) or ()
    for arg in args:
        for item in arg if isinstance(arg, tuple) else (arg,):
            if isinstance(item, asyncio.AbstractServer):
                return item
    return None


def _new_fds(before: dict[int, str]) -> list[str]:
    now = _open_fds()
    return [f"fd {fd} ({target}) opened during the test and not closed"
            for fd, target in sorted(now.items())
            if before.get(fd) != target and not target.startswith("/proc/")]


# -- running fixtures and tests on that loop -------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
                         ) -> Generator[None, Any, Any]:
    """Run an ``async def`` fixture requested by one of our tests on the test's loop."""
    func = fixturedef.func
    # The test that asked for it (a wider-scoped fixture's node is its module or session).
    item = getattr(request, "_pyfuncitem", request.node)
    loop = item.stash.get(_LOOP, None)
    is_async = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
    if loop is None or not is_async:
        return (yield)
    if fixturedef.scope != "function":
        raise pytest.UsageError(
            f"batonio: async fixture {fixturedef.argname!r} has scope {fixturedef.scope!r}; "
            "only function-scoped async fixtures run on the test's loop")
    fixturedef.func = _synchronous(func, loop)  # type: ignore[misc]
    try:
        return (yield)
    finally:
        fixturedef.func = func  # type: ignore[misc]


def _synchronous(func: Callable[..., Any], loop: asyncio.AbstractEventLoop
                 ) -> Callable[..., Any]:
    """A sync fixture function that runs the async one on ``loop``."""
    if inspect.isasyncgenfunction(func):
        @functools.wraps(func)
        def generator_fixture(*args: Any, **kwargs: Any) -> Iterator[Any]:
            agen = func(*args, **kwargs)
            value = loop.run_until_complete(agen.__anext__())
            try:
                yield value
            finally:
                _finish_async_generator(loop, agen)
        return generator_fixture

    @functools.wraps(func)
    def coroutine_fixture(*args: Any, **kwargs: Any) -> Any:
        return loop.run_until_complete(func(*args, **kwargs))
    return coroutine_fixture


def _finish_async_generator(loop: asyncio.AbstractEventLoop, agen: Any) -> None:
    try:
        loop.run_until_complete(agen.__anext__())
    except StopAsyncIteration:
        return
    loop.run_until_complete(agen.aclose())
    raise RuntimeError(f"async fixture {agen!r} yielded more than once")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run one of our tests on its loop; leave every other test to whoever runs it."""
    loop = pyfuncitem.stash.get(_LOOP, None)
    if loop is None:
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    loop.run_until_complete(pyfuncitem.obj(**kwargs))
    return True


# -- naming the seed of a failure -----------------------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Add the chaos seed of a failure and the command line that reproduces it."""
    report = yield
    seed = item.stash.get(_SEED, None)
    if report.failed and seed is not None:
        report.sections.append(("batonio chaos seed", _reproduce(item, seed)))
    return report


def _reproduce(item: Any, seed: int) -> str:
    """The command line that runs this one test again under ``seed``."""
    nodeid = item.nodeid.split("[", 1)[0]
    params = getattr(getattr(item, "callspec", None), "id", "")
    rest = "-".join(p for p in params.replace(f"batonio-seed-{seed}", "").split("-") if p)
    if rest:
        nodeid = f"{nodeid}[{rest}]"  # the test's other parameters keep their id
    command = shlex.join([os.path.basename(sys.executable), "-m", "pytest", nodeid,
                          "-p", "batonio", "--batonio-chaos-seed", str(seed)])
    return f"failed with chaos seed {seed}; reproduce with:\n  {command}"
