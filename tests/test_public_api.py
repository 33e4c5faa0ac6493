"""The public surface: batonio offers asyncio's names, its own where it implements them."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import batonio

# Names of asyncio.__all__ batonio does not provide yet, each with the issue that brings
# it. This list may only shrink; since subprocesses (issue 10) it is empty.
NOT_YET: dict[str, str] = {}

# asyncio objects batonio re-exports on purpose (interop), rather than reimplementing.
SHARED_WITH_ASYNCIO = set(batonio._FROM_ASYNCIO) | {"FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"} | {
    # The running-loop accessors are asyncio's C functions bound to the one thread-local
    # that every loop (ours included) sets; see batonio/_api/_loops.py.
    "get_running_loop",
    "_get_running_loop",
    "_set_running_loop",
    "get_event_loop",
}


def test_every_asyncio_name_is_importable_except_the_listed_missing_ones() -> None:
    missing = {name for name in asyncio.__all__ if not hasattr(batonio, name)}
    assert missing == set(NOT_YET)
    assert set(batonio.MISSING) == set(NOT_YET)


def test_dir_of_batonio_covers_asyncio_all() -> None:
    names = set(dir(batonio))
    assert set(asyncio.__all__) - names == set(NOT_YET)
    assert "TaskGroup" in names  # missing from 3.11's asyncio.__all__


def test_all_lists_only_existing_names() -> None:
    for name in batonio.__all__:
        assert hasattr(batonio, name), name


def test_implemented_names_are_batonio_objects_not_asyncio_ones() -> None:
    for name in asyncio.__all__:
        if name in NOT_YET or name in SHARED_WITH_ASYNCIO:
            continue
        ours = getattr(batonio, name)
        assert ours is not getattr(asyncio, name), f"batonio.{name} is asyncio's object"
        assert ours.__module__.startswith("batonio"), (name, ours.__module__)


def test_exceptions_and_base_classes_are_asyncio_objects() -> None:
    for name in ("CancelledError", "TimeoutError", "InvalidStateError", "Protocol", "Transport"):
        assert getattr(batonio, name) is getattr(asyncio, name)


def test_subprocess_constants() -> None:
    assert batonio.subprocess.PIPE == subprocess.PIPE
    assert batonio.subprocess.STDOUT == subprocess.STDOUT
    assert batonio.subprocess.DEVNULL == subprocess.DEVNULL


def test_version_specific_names() -> None:
    assert hasattr(batonio, "eager_task_factory") == (sys.version_info >= (3, 12))
    assert hasattr(batonio, "QueueShutDown") == (sys.version_info >= (3, 13))


def test_import_batonio_as_asyncio_runs_a_program() -> None:
    import batonio as aio

    async def main() -> list[int]:
        lock = aio.Lock()
        async with lock:
            results = await aio.gather(aio.sleep(0, 1), aio.wait_for(aio.sleep(0, 2), 1))
        async with aio.TaskGroup() as group:
            task = group.create_task(aio.sleep(0, 3))
        return [*results, task.result()]

    assert aio.run(main()) == [1, 2, 3]


def test_subprocess_module_mirrors_asyncio_subprocess() -> None:
    assert set(batonio.subprocess.__all__) == set(asyncio.subprocess.__all__)
    for name in ("Process", "SubprocessStreamProtocol", "create_subprocess_exec", "create_subprocess_shell"):
        assert getattr(batonio.subprocess, name) is not getattr(asyncio.subprocess, name)
    assert batonio.create_subprocess_exec is batonio.subprocess.create_subprocess_exec
    assert batonio.MISSING == ()
