"""``python -m batonio ps/pstree PID`` and the opt-in control socket (batonio only).

Real processes: a program run with ``--inspect`` or ``BATONIO_INSPECT=1`` is looked at from
another process, as a user would from another shell.  The refusals for another user's
process and socket use a forked child that drops to uid 65534 (root only).
"""
from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import batonio
from batonio.inspect import _client, _server

NOBODY = 65534
as_root = pytest.mark.skipif(os.getuid() != 0, reason="acting as another user needs root")

PROGRAM = textwrap.dedent("""\
    import asyncio, sys, time

    async def play(track):
        await asyncio.sleep(100)  # <- play

    async def album(name, tracks):
        async with asyncio.TaskGroup() as tg:  # <- album
            for track in tracks:
                tg.create_task(play(track), name=track)

    def block():
        time.sleep(2.5)  # <- block

    async def main():
        async with asyncio.TaskGroup() as tg:  # <- main
            tg.create_task(album("Sundowning", ["TNDNBTG", "Levitate"]), name="Sundowning")
            tg.create_task(album("TMBTE", ["DYWTYLM"]), name="TMBTE")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            print("ready", flush=True)
            if sys.argv[1:] == ["block"]:
                sys.stdin.readline()
                asyncio.get_running_loop().call_soon(block)

    asyncio.run(main())
""")


def line_of(marker: str) -> int:
    for number, text in enumerate(PROGRAM.splitlines(), 1):
        if f"# <- {marker}" in text:
            return number
    raise LookupError(marker)


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG_RUNTIME_DIR for this test, for us and the processes we start."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return tmp_path


@contextlib.contextmanager
def started(tmp_path: Path, *options: str, env: dict[str, str] | None = None,
            args: tuple[str, ...] = ()) -> Iterator[subprocess.Popen[str]]:
    """Run PROGRAM under ``python -m batonio *options``; yield it once it printed ready."""
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    proc = subprocess.Popen([sys.executable, "-m", "batonio", *options, str(prog), *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = _client.main(list(args), out, err)
    return status, out.getvalue(), err.getvalue()


def mask_locations(text: str, prog: Path) -> str:
    """Keep the program's own file:line, mask the standard library's."""
    text = text.replace(f"{prog}:", "PROG:")
    return re.sub(r" /\S+\.py:\d+", " LIB:N", text)


def test_ps_prints_asyncio_314s_table(runtime_dir: Path) -> None:
    with started(runtime_dir, "--inspect") as proc:
        status, out, err = run_cli("ps", str(proc.pid))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["tid", "task", "id", "task", "name", "coroutine", "stack",
                                "awaiter", "chain", "awaiter", "name", "awaiter", "id"]
    assert lines[0].startswith("tid        task id              task name            coro")
    assert lines[1] == "-" * 180
    rows = {}
    for line in lines[2:]:
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[2]] = cells
    assert set(rows) == {"Task-1", "Sundowning", "TMBTE", "TNDNBTG", "Levitate", "DYWTYLM"}
    main = rows["Task-1"]
    assert main[3:] == ["TaskGroup.__aexit__ -> main", "0x0"]
    assert rows["Sundowning"][3:6] == ["TaskGroup.__aexit__ -> album",
                                       "TaskGroup.__aexit__ -> main", "Task-1"]
    assert rows["Sundowning"][6] == main[1]
    assert rows["Levitate"][3:6] == ["sleep -> play", "TaskGroup.__aexit__ -> album",
                                     "Sundowning"]
    assert rows["DYWTYLM"][5:7] == ["TMBTE", rows["TMBTE"][1]]
    assert {row[0] for row in rows.values()} == {str(proc.pid)}  # the main thread's tid


def test_pstree_prints_asyncio_314s_tree(runtime_dir: Path) -> None:
    with started(runtime_dir, env={"BATONIO_INSPECT": "1"}) as proc:
        status, out, err = run_cli("pstree", str(proc.pid))
    assert (status, err) == (0, "")
    prog = runtime_dir / "prog.py"
    album, play, main = line_of("album"), line_of("play"), line_of("main")
    assert mask_locations(out, prog).splitlines() == [
        "└── (T) Task-1",
        f"    └──  main PROG:{main}",
        "        └──  TaskGroup.__aexit__ LIB:N",
        "            ├── (T) Sundowning",
        f"            │   └──  album PROG:{album}",
        "            │       └──  TaskGroup.__aexit__ LIB:N",
        "            │           ├── (T) Levitate",
        f"            │           │   └──  play PROG:{play}",
        "            │           │       └──  sleep LIB:N",
        "            │           └── (T) TNDNBTG",
        f"            │               └──  play PROG:{play}",
        "            │                   └──  sleep LIB:N",
        "            └── (T) TMBTE",
        f"                └──  album PROG:{album}",
        "                    └──  TaskGroup.__aexit__ LIB:N",
        "                        └── (T) DYWTYLM",
        f"                            └──  play PROG:{play}",
        "                                └──  sleep LIB:N",
    ]


def test_a_blocked_loop_is_reported_with_its_stack_without_hanging(runtime_dir: Path) -> None:
    with started(runtime_dir, "--inspect", args=("block",)) as proc:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(0.3)
        start = time.monotonic()
        status, out, err = run_cli("ps", str(proc.pid))
        took = time.monotonic() - start
    assert (status, err) == (0, "")
    assert took < 2.0  # answered after the 1 s wait, not after the 2.5 s block
    assert f"The event loop in thread {proc.pid} is blocked" in out
    assert f'prog.py", line {line_of("block")}, in block' in out
    assert "time.sleep(2.5)" in out


def test_socket_is_private(runtime_dir: Path) -> None:
    with started(runtime_dir, "--inspect") as proc:
        path = Path(_server.socket_path(proc.pid))
        assert path.parent == runtime_dir / "batonio"
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_socket_is_removed_at_exit(runtime_dir: Path) -> None:
    program = "import asyncio; print('up', flush=True); asyncio.run(asyncio.sleep(0.3))"
    proc = subprocess.Popen([sys.executable, "-m", "batonio", "--inspect", "-c", program],
                            stdout=subprocess.PIPE, text=True)
    with proc:
        assert proc.stdout is not None and proc.stdout.readline() == "up\n"
        assert Path(_server.socket_path(proc.pid)).exists()
        assert proc.wait(30) == 0
    assert not Path(_server.socket_path(proc.pid)).exists()


def test_enable_in_process_and_disable(runtime_dir: Path) -> None:
    loop = batonio.new_event_loop()
    ready = threading.Event()
    stop: list[Any] = []

    async def sleeper() -> None:
        await asyncio.sleep(100)

    async def main() -> None:
        stop.append(loop.create_future())
        task = asyncio.create_task(sleeper(), name="sleeper")
        ready.set()
        await stop[0]
        task.cancel()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    try:
        ready.wait(5)
        path = batonio.inspect.enable()
        assert batonio.inspect.enable() == path and batonio.inspect.is_enabled()
        snapshot = _client.fetch_snapshot(os.getpid())
        tasks = {t["task_name"]: t for lp in snapshot["loops"] for t in lp["tasks"]}
        assert tasks["sleeper"]["awaited_by"] == []
        assert tasks["sleeper"]["coroutine_stack"][-1][0].endswith("<locals>.sleeper")
    finally:
        batonio.inspect.disable()
        loop.call_soon_threadsafe(stop[0].set_result, None)
        thread.join(5)
        loop.close()
    assert not batonio.inspect.is_enabled()
    assert not Path(path).exists()


def test_off_by_default(runtime_dir: Path) -> None:
    with started(runtime_dir) as proc:
        status, _, err = run_cli("ps", str(proc.pid))
        assert not (runtime_dir / "batonio").exists()
    assert status == 1
    assert f"process {proc.pid} has no batonio inspect socket" in err
    assert "--inspect" in err  # how to opt in


def test_ps_on_a_process_that_does_not_run_batonio(runtime_dir: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        status, out, err = run_cli("ps", str(proc.pid))
    finally:
        proc.kill()
        proc.wait()
    assert (status, out) == (1, "")
    assert "does not run batonio or did not opt in" in err


def test_ps_on_a_pid_that_is_not_running() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    status, out, err = run_cli("pstree", str(proc.pid))
    assert (status, out, err) == (1, "", f"batonio pstree: no process with PID {proc.pid}\n")


@pytest.mark.parametrize("args", [["ps"], ["ps", "abc"], ["ps", "-3"], ["top", "1"]])
def test_usage_errors(args: list[str]) -> None:
    status, out, err = run_cli(*args)
    assert status == 2 and out == "" and "usage: python -m batonio {ps,pstree} PID" in err


def test_command_line_entry_and_bad_environment_value(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "batonio", "ps", "nope"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "PID must be a positive integer, not 'nope'" in done.stderr
    done = subprocess.run([sys.executable, "-c", "import batonio"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "BATONIO_INSPECT": "yes"})
    assert done.returncode == 1
    assert "BATONIO_INSPECT must be 1 (on) or 0 (off), not 'yes'" in done.stderr


def _in_child_as_nobody(action: Any) -> int:
    """Fork, drop to uid 65534 in the child, run ``action()``; return its exit status."""
    with warnings.catch_warnings():
        # 3.12+ warns that forking a threaded process may deadlock the child: this child
        # takes no lock (setuid, one socket, a pipe write, _exit).
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = action()
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


@as_root
def test_ps_refuses_a_process_of_another_user() -> None:
    pid = _in_child_as_nobody(lambda: time.sleep(30) or 0)
    try:
        time.sleep(0.2)
        status, out, err = run_cli("ps", str(pid))
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert (status, out) == (1, "")
    assert f"process {pid} belongs to uid {NOBODY}, not to you (uid 0)" in err


@as_root
def test_the_server_refuses_another_users_peer(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime_dir = Path(tempfile.mkdtemp())  # reachable by uid 65534 (pytest's tmp is not)
    runtime_dir.chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime_dir))
    path = batonio.inspect.enable()
    read_end, write_end = os.pipe()
    try:
        # Even with the file modes opened up, SO_PEERCRED refuses the other uid.
        os.chmod(os.path.dirname(path), 0o711)
        os.chmod(path, 0o666)

        def connect_and_report() -> int:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
                sock.sendall(b'{"cmd": "snapshot"}\n')
                os.write(write_end, sock.recv(4096))
            return 0

        pid = _in_child_as_nobody(connect_and_report)
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        reply = json.loads(os.read(read_end, 4096) or b"null")
    finally:
        os.close(read_end)
        batonio.inspect.disable()
        shutil.rmtree(runtime_dir)
    assert status == 0
    assert reply == {"error": f"refused: peer uid {NOBODY} is not the owner uid 0 of "
                              f"process {os.getpid()}"}


@as_root
def test_ps_refuses_a_socket_of_another_user(runtime_dir: Path) -> None:
    with started(runtime_dir, "--inspect") as proc:
        os.chown(_server.socket_path(proc.pid), NOBODY, NOBODY)
        status, out, err = run_cli("ps", str(proc.pid))
    assert (status, out) == (1, "")
    assert f"belongs to uid {NOBODY}, not to you (uid 0): refused" in err
