"""Subprocesses on asyncio (the oracle), uvloop and batonio: what a user sees.

Every test runs through the ``loop`` fixture; ``ns`` is the module whose process API the test
calls (asyncio's for asyncio and uvloop, batonio's for batonio).  Covered, with the issue's
"bad input and faults" list: communicate() with input, both outputs and the returncode; a
missing executable (FileNotFoundError, no pipe fd left open); a child killed by a signal
(negative returncode); a child that exits without reading its stdin while we write
(communicate() completes); a reader that disappears (BrokenPipeError/ConnectionResetError
from drain(), not a hang); 200 concurrent short-lived children with and without pipes (no
zombie, no fd left); a signal storm while children exit; asyncio's refusals of text mode
and buffering; the SubprocessTransport interface and the order of protocol calls; other
code reaping around us; batonio's fallback without pidfds.

After each test (``_clean``) no fd is left open and no child of ours is a zombie.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import batonio

TIMEOUT = 30.0
PY = sys.executable


def _open_fds() -> set[int]:
    return {int(fd) for fd in os.listdir("/proc/self/fd")}


def _zombie_children() -> list[int]:
    """Our children that exited and were never reaped (state Z), read from /proc."""
    me = os.getpid()
    zombies = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            zombies.append(int(entry))
    return zombies


@pytest.fixture
def ns(loop_kind: str) -> Any:
    """The process API under test: batonio's on batonio, asyncio's on the other loops."""
    return batonio if loop_kind == "batonio" else asyncio


@pytest.fixture(autouse=True)
def _clean(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    before = _open_fds()
    yield
    if not loop.is_closed():
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    gc.collect()
    leaked = {fd for fd in _open_fds() - before if os.path.exists(f"/proc/self/fd/{fd}")}
    assert not leaked, {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in leaked}
    assert not _zombie_children()


def _bounded(aw: Any) -> Any:
    return asyncio.wait_for(aw, TIMEOUT)


# --------------------------------------------------------------------------- the high level
def test_communicate_with_input_returns_both_outputs(run: Any, ns: Any) -> None:
    code = "import sys; data = sys.stdin.buffer.read(); print(len(data)); sys.stderr.write('e'); sys.exit(3)"

    async def main() -> None:
        proc = await ns.create_subprocess_exec(
            PY, "-c", code, stdin=ns.subprocess.PIPE, stdout=ns.subprocess.PIPE, stderr=ns.subprocess.PIPE
        )
        assert proc.returncode is None and proc.pid > 0
        out, err = await _bounded(proc.communicate(b"x" * 3_000_000))
        assert (out, err, proc.returncode) == (b"3000000\n", b"e", 3)
        assert await proc.wait() == 3

    run(main())


def test_shell_stderr_to_stdout_and_devnull(run: Any, ns: Any) -> None:
    async def main() -> None:
        proc = await ns.create_subprocess_shell(
            "echo out; echo err >&2; cat", stdin=ns.subprocess.DEVNULL,
            stdout=ns.subprocess.PIPE, stderr=ns.subprocess.STDOUT,
        )  # fmt: skip
        out, err = await _bounded(proc.communicate())
        assert sorted(out.split()) == [b"err", b"out"] and err is None
        assert proc.returncode == 0

    run(main())


def test_popen_arguments_pass_through(run: Any, ns: Any, tmp_path: Any) -> None:
    r, w = os.pipe()
    code = f"import os, sys; os.write({w}, b'fd'); print(os.getcwd(), os.environ['ONLY'], os.getsid(0) == os.getpid())"

    async def main() -> None:
        proc = await ns.create_subprocess_exec(
            PY, "-c", code, stdout=ns.subprocess.PIPE, cwd=str(tmp_path),
            env={"ONLY": "me", "PATH": os.environ.get("PATH", "")}, pass_fds=(w,), start_new_session=True,
        )  # fmt: skip
        out, _ = await _bounded(proc.communicate())
        assert out.split() == [str(tmp_path).encode(), b"me", b"True"]
        assert os.read(r, 10) == b"fd"

    try:
        run(main())
    finally:
        os.close(r)
        os.close(w)


def test_stream_reads_line_by_line(run: Any, ns: Any) -> None:
    async def main() -> None:
        proc = await ns.create_subprocess_exec(
            PY, "-c", "import sys\nfor line in sys.stdin: print(line.strip().upper(), flush=True)",
            stdin=ns.subprocess.PIPE, stdout=ns.subprocess.PIPE,
        )  # fmt: skip
        for word in (b"one", b"two"):
            proc.stdin.write(word + b"\n")
            await proc.stdin.drain()
            assert await _bounded(proc.stdout.readline()) == word.upper() + b"\n"
        proc.stdin.close()
        await proc.stdin.wait_closed()
        assert await _bounded(proc.stdout.read()) == b""
        assert await _bounded(proc.wait()) == 0

    run(main())


# --------------------------------------------------------------------------- faults
def test_missing_executable_raises_and_leaves_no_fd(run: Any, ns: Any, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop leaks the pipe fds of a child that failed to start (its known bug)")

    async def main() -> None:
        before = _open_fds()
        for _ in range(3):
            with pytest.raises(FileNotFoundError):
                await ns.create_subprocess_exec(
                    "/nonexistent/program", stdin=ns.subprocess.PIPE,
                    stdout=ns.subprocess.PIPE, stderr=ns.subprocess.PIPE,
                )  # fmt: skip
        gc.collect()
        assert _open_fds() <= before

    run(main())


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_child_killed_by_signal_has_negative_returncode(run: Any, ns: Any, sig: int) -> None:
    async def main() -> None:
        proc = await ns.create_subprocess_exec(PY, "-c", "import time; time.sleep(60)")
        if sig == signal.SIGKILL:
            proc.kill()
        else:
            proc.terminate()
        assert await _bounded(proc.wait()) == -sig
        assert proc.returncode == -sig
        with pytest.raises(ProcessLookupError):  # the transport has finished
            proc.send_signal(signal.SIGTERM)

    run(main())


def test_child_that_ignores_stdin_lets_communicate_complete(run: Any, ns: Any) -> None:
    async def main() -> None:
        proc = await ns.create_subprocess_exec(
            PY, "-c", "import os; os.close(0); print('bye')", stdin=ns.subprocess.PIPE, stdout=ns.subprocess.PIPE
        )
        out, err = await _bounded(proc.communicate(b"z" * 10_000_000))
        assert (out, err, proc.returncode) == (b"bye\n", None, 0)

    run(main())


def test_reader_that_disappears_surfaces_broken_pipe(run: Any, ns: Any, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop raises RuntimeError('... the handler is closed') from write()")

    async def main() -> None:
        proc = await ns.create_subprocess_exec(PY, "-c", "import os; os.close(0)", stdin=ns.subprocess.PIPE)
        await _bounded(proc.wait())
        with pytest.raises((BrokenPipeError, ConnectionResetError)):
            for _ in range(100):  # the loss is noticed on a write or drain, never a hang
                proc.stdin.write(b"w" * 100_000)
                await _bounded(proc.stdin.drain())
        proc.stdin.close()

    run(main())


@pytest.mark.parametrize("pipes", [False, True], ids=["no-pipes", "pipes"])
def test_200_concurrent_short_lived_children(run: Any, ns: Any, pipes: bool) -> None:
    async def one(i: int) -> tuple[int, bytes | None]:
        if pipes:
            proc = await ns.create_subprocess_exec(
                "sh", "-c", f"echo {i}; exit {i % 7}", stdin=ns.subprocess.PIPE,
                stdout=ns.subprocess.PIPE, stderr=ns.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await proc.communicate()
            return proc.returncode, out
        proc = await ns.create_subprocess_exec("sh", "-c", f"exit {i % 7}")
        return await proc.wait(), None

    async def main() -> None:
        results = await _bounded(asyncio.gather(*(one(i) for i in range(200))))
        for i, (code, out) in enumerate(results):
            assert code == i % 7
            if pipes:
                assert out == f"{i}\n".encode()

    run(main())


def test_signal_storm_while_children_exit(run: Any, ns: Any) -> None:
    received = []
    stop = threading.Event()

    def storm() -> None:
        while not stop.is_set():
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.0005)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, received.append, 1)
        thread = threading.Thread(target=storm)
        thread.start()
        try:
            procs = [await ns.create_subprocess_exec("sh", "-c", f"exit {i % 5}") for i in range(50)]
            codes = await _bounded(asyncio.gather(*(p.wait() for p in procs)))
        finally:
            stop.set()
            thread.join()
            loop.remove_signal_handler(signal.SIGUSR1)
        assert codes == [i % 5 for i in range(50)]
        assert received

    run(main())


# --------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"universal_newlines": True}, "universal_newlines must be False"),
        ({"text": True}, "text must be False"),
        ({"bufsize": 1}, "bufsize must be 0"),
        ({"encoding": "utf-8"}, "encoding must be None"),
        ({"errors": "strict"}, "errors must be None"),
    ],
)
def test_text_mode_and_buffering_are_refused(
    run: Any, ns: Any, loop_kind: str, kwargs: dict[str, Any], message: str
) -> None:
    if loop_kind == "uvloop" and message != "universal_newlines must be False" and "bufsize" not in message:
        pytest.skip("uvloop refuses these with its own message ('unexpected kwargs: ...')")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match=message):
            await ns.create_subprocess_exec(PY, "-c", "pass", **kwargs)
        with pytest.raises(ValueError, match=message):
            await ns.create_subprocess_shell("true", **kwargs)
        with pytest.raises(ValueError, match=message):
            await loop.subprocess_exec(asyncio.SubprocessProtocol, PY, "-c", "pass", **kwargs)

    run(main())


def test_shell_flag_and_command_type_are_checked(run: Any, loop_kind: str) -> None:
    if loop_kind == "uvloop":
        pytest.skip("uvloop does not check the command's type (Popen's TypeError instead)")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError, match="shell must be False"):
            await loop.subprocess_exec(asyncio.SubprocessProtocol, "true", shell=True)
        with pytest.raises(ValueError, match="shell must be True"):
            await loop.subprocess_shell(asyncio.SubprocessProtocol, "true", shell=False)
        with pytest.raises(ValueError, match="cmd must be a string"):
            await loop.subprocess_shell(asyncio.SubprocessProtocol, ["true"])

    run(main())


# --------------------------------------------------------------------------- the transport
class Recorder(asyncio.SubprocessProtocol):
    """Records every call of a subprocess transport."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.events.append(("data", fd, data))

    def pipe_connection_lost(self, fd: int, exc: BaseException | None) -> None:
        self.events.append(("pipe_lost", fd, exc))

    def process_exited(self) -> None:
        self.events.append("exited")

    def connection_lost(self, exc: BaseException | None) -> None:
        self.events.append(("lost", exc))
        self.done.set_result(None)


def test_transport_interface_and_call_order(run: Any, loop_kind: str) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.subprocess_exec(
            Recorder, PY, "-c", "import sys; sys.stdout.write(sys.stdin.read())"
        )
        if loop_kind != "uvloop":  # uvloop's transport does not derive from asyncio's class
            assert isinstance(transport, asyncio.SubprocessTransport)
        assert transport.get_pid() > 0 and transport.get_returncode() is None
        assert transport.get_protocol() is proto and not transport.is_closing()
        stdin = transport.get_pipe_transport(0)
        assert transport.get_pipe_transport(1) is not None and transport.get_pipe_transport(2) is not None
        stdin.write(b"echo")
        stdin.close()
        await _bounded(proto.done)
        assert transport.get_returncode() == 0
        events = proto.events
        assert events[0] == "made" and events[-1] == ("lost", None)
        assert ("data", 1, b"echo") in events
        assert {e[1] for e in events if e[0] == "pipe_lost"} == {0, 1, 2}
        assert events.index("exited") < events.index(("lost", None))
        transport.close()
        assert transport.is_closing()
        with pytest.raises(ProcessLookupError):
            transport.kill()

    run(main())


def test_close_kills_a_running_child(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.subprocess_exec(Recorder, "sleep", "60", stdin=None, stdout=None, stderr=None)
        transport.close()
        await _bounded(proto.done)
        assert transport.get_returncode() == -signal.SIGKILL

    run(main())


def test_child_exiting_before_connected_is_reported(run: Any) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        transport, proto = await loop.subprocess_exec(Recorder, "true", stdin=None, stdout=None, stderr=None)
        await _bounded(proto.done)
        assert proto.events == ["made", "exited", ("lost", None)]
        assert transport.get_returncode() == 0
        transport.close()

    run(main())


def test_wait_for_timeout_then_kill(run: Any, ns: Any) -> None:
    async def main() -> None:
        proc = await ns.create_subprocess_exec(
            "sleep", "60", stdout=ns.subprocess.PIPE, stderr=ns.subprocess.PIPE
        )
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(proc.communicate(), 0.1)
        assert proc.returncode is None
        proc.kill()
        out, err = await _bounded(proc.communicate())
        assert (out, err, proc.returncode) == (b"", b"", -signal.SIGKILL)

    run(main())


# --------------------------------------------------------------------------- reaping around us
def test_subprocess_run_in_a_thread_meanwhile(run: Any, ns: Any) -> None:
    async def main() -> None:
        procs = [await ns.create_subprocess_exec("sh", "-c", "sleep 0.05; exit 4") for _ in range(5)]
        results = await asyncio.gather(
            *(asyncio.to_thread(subprocess.run, ["sh", "-c", "exit 6"]) for _ in range(5))
        )
        assert [r.returncode for r in results] == [6] * 5
        assert await _bounded(asyncio.gather(*(p.wait() for p in procs))) == [4] * 5

    run(main())


@pytest.mark.parametrize("which", ["pid", "any"])
def test_child_reaped_by_other_code_reports_255(run: Any, loop_kind: str, which: str) -> None:
    if loop_kind != "batonio":
        pytest.skip("asyncio's and uvloop's watchers race the other waitpid(); batonio's answer is fixed")

    async def main() -> None:
        proc = await batonio.create_subprocess_exec("sh", "-c", "sleep 0.1; exit 9")
        # reaps it before the loop gets to (waitpid(-1): our only child is this one)
        pid, status = os.waitpid(proc.pid if which == "pid" else -1, 0)
        assert pid == proc.pid
        assert os.waitstatus_to_exitcode(status) == 9
        assert await _bounded(proc.wait()) == 255

    run(main())


# --------------------------------------------------------------------------- batonio only
def test_fallback_without_pidfds(monkeypatch: pytest.MonkeyPatch, loop_kind: str) -> None:
    if loop_kind != "batonio":
        pytest.skip("batonio's own child watching")
    from batonio.io import _child_watch

    monkeypatch.setattr(_child_watch, "pidfds_supported", lambda: False)

    async def main() -> list[int]:
        procs = [await batonio.create_subprocess_exec("sh", "-c", f"exit {i}") for i in range(20)]
        return await _bounded(asyncio.gather(*(p.wait() for p in procs)))

    assert batonio.run(main()) == list(range(20))  # main thread: SIGCHLD
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(batonio.run(main())))
    thread.start()
    thread.join()
    assert result == [list(range(20))]  # another thread: the poll timer
