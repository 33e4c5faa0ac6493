"""Loops, signals and ``multiprocessing`` across ``os.fork`` (and spawn under ``python -m batonio``).

Every scenario runs in a fresh interpreter (a subprocess), so that forking never happens in
pytest's own process, whose threads would make ``fork`` unsafe.  Each program prints one
line, a Python literal, that the test reads.

Where batonio deliberately does better than asyncio (a forked child cannot break its
parent's epoll set), the test runs on batonio only and says so; where asyncio's behaviour is
the spec (the child's running loop, signals, multiprocessing), both loops run.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import batonio

SRC = str(Path(batonio.__file__).resolve().parent.parent)
TIMEOUT = 120
PY312 = sys.version_info >= (3, 12)


def _run(source: str, tmp_path: Path, *args: str, runner: tuple[str, ...] = ()) -> Any:
    """Run ``source`` as a program (through ``runner``, e.g. ``-m batonio``); return its last line."""
    prog = tmp_path / "prog.py"
    prog.write_text(textwrap.dedent(source))
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", *runner, str(prog), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return ast.literal_eval(done.stdout.strip().splitlines()[-1])


HEADER = """\
import asyncio, os, signal, socket, sys
import batonio

LOOPS = {"asyncio": asyncio.SelectorEventLoop, "batonio": batonio.new_event_loop}
new_loop = LOOPS[sys.argv[1]]


def in_child(body):
    '''Fork; run body() in the child; return what it returned (a repr-able value).'''
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            result = body()
        except BaseException as exc:
            result = ("child raised", type(exc).__name__, str(exc))
        os.write(w, repr(result).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    import ast
    return ast.literal_eval(data.decode())
"""


# ------------------------------------------------------------------ the parent's loop in a child
FORK_IN_RUNNING_LOOP = HEADER + """
class Recorder(asyncio.Protocol):
    def __init__(self):
        self.data = []
    def data_received(self, data):
        self.data.append(data)

async def main():
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    transport, proto = await loop.connect_accepted_socket(Recorder, a)

    def child():
        seen = {"running": asyncio._get_running_loop() is not None}
        try:
            loop.run_until_complete(asyncio.sleep(0))
            seen["run parent's loop"] = "ran"
        except RuntimeError as exc:
            seen["run parent's loop"] = str(exc)
        transport.close()               # the child's copy: must not unregister the parent's
        loop.call_soon_threadsafe(print)  # must not write the parent's eventfd
        seen["new loop"] = asyncio.run(asyncio.sleep(0, "ran"))
        return seen

    seen = in_child(child)
    b.send(b"after fork")
    for _ in range(200):
        if proto.data:
            break
        await asyncio.sleep(0.005)
    transport.close()
    b.close()
    return seen, proto.data

loop = new_loop()
print(repr(loop.run_until_complete(main())))
loop.close()
"""


def test_child_cannot_run_or_disturb_the_parents_loop(tmp_path: Path) -> None:
    """batonio only: on asyncio the child's transport.close() unregisters the parent's socket."""
    seen, parent_data = _run(FORK_IN_RUNNING_LOOP, tmp_path, "batonio")
    assert seen["running"] is False  # neither asyncio nor batonio report a running loop there
    message = seen["run parent's loop"]
    assert "was created by process" in message and "forked child" in message
    assert "create a new event loop in the child" in message
    assert seen["new loop"] == "ran"
    assert parent_data == [b"after fork"]


def test_asyncio_shares_the_epoll_set_with_its_child(tmp_path: Path) -> None:
    """The oracle for the test above: stock asyncio loses the parent's registration."""
    seen, parent_data = _run(FORK_IN_RUNNING_LOOP, tmp_path, "asyncio")
    assert seen["running"] is False
    assert seen["new loop"] == "ran"
    assert parent_data == []


FORK_IDLE_LOOP = HEADER + """
loop = new_loop()
asyncio.set_event_loop(loop)

def child():
    try:
        current = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        current = None
    outcome = "none"
    if current is loop:
        try:
            loop.run_until_complete(asyncio.sleep(0))
            outcome = "ran"
        except RuntimeError as exc:
            outcome = type(exc).__name__
    elif current is not None:
        outcome = "a new loop"
        current.close()
    loop.close()  # closing the inherited loop in the child is allowed and quiet
    return outcome

import warnings
warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: "There is no current event loop"
outcome = in_child(child)
print(repr((outcome, loop.run_until_complete(asyncio.sleep(0, "parent ok")))))
asyncio.set_event_loop(None)
loop.close()
"""


@pytest.mark.parametrize("kind", ["asyncio", "batonio"])
def test_current_loop_in_a_forked_child(tmp_path: Path, kind: str) -> None:
    """3.12+ forgets the parent's current loop in the child (gh-99949); 3.11 keeps it.

    Kept on 3.11, asyncio runs it on the shared epoll set; batonio refuses.
    """
    outcome, parent = _run(FORK_IDLE_LOOP, tmp_path, kind)
    assert parent == "parent ok"
    if PY312:
        assert outcome == "a new loop"
    else:
        assert outcome == ("ran" if kind == "asyncio" else "RuntimeError")


# ------------------------------------------------------------------ signals
SIGNALS_ACROSS_FORK = HEADER + """
async def main():
    loop = asyncio.get_running_loop()
    got = []
    loop.add_signal_handler(signal.SIGUSR1, got.append, "parent")

    def child():
        previous = signal.set_wakeup_fd(-1)  # what the child inherited as wake-up fd
        os.kill(os.getpid(), signal.SIGUSR1)  # the child's own signal
        return previous

    child_wakeup_fd = in_child(child)
    await asyncio.sleep(0.05)
    from_child = list(got)
    os.kill(os.getpid(), signal.SIGUSR1)
    for _ in range(200):
        if len(got) > len(from_child):
            break
        await asyncio.sleep(0.005)
    removed = loop.remove_signal_handler(signal.SIGUSR1)
    return child_wakeup_fd, from_child, got, removed, loop.remove_signal_handler(signal.SIGUSR1)

loop = new_loop()
print(repr(loop.run_until_complete(main())))
loop.close()
"""


@pytest.mark.parametrize("kind", ["asyncio", "batonio"])
def test_child_signals_do_not_reach_the_parents_handler(tmp_path: Path, kind: str) -> None:
    child_wakeup_fd, from_child, got, removed, again = _run(SIGNALS_ACROSS_FORK, tmp_path, kind)
    assert from_child == []
    assert got == ["parent"]
    assert (removed, again) == (True, False)
    if PY312 or kind == "batonio":
        assert child_wakeup_fd == -1  # reset in the child (asyncio from 3.12, batonio always)


# ------------------------------------------------------------------ multiprocessing
MULTIPROCESSING = """\
import asyncio, multiprocessing, socket, sys

def child(queue):
    async def body():
        await asyncio.sleep(0.01)
        return type(asyncio.get_running_loop()).__module__.split(".")[0]
    queue.put(asyncio.run(body()))

async def start(method):
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=a)
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    process = ctx.Process(target=child, args=(queue,))
    process.start()
    child_loop = await loop.run_in_executor(None, queue.get)
    await loop.run_in_executor(None, process.join)
    queue.close()
    queue.join_thread()
    b.sendall(b"parent still serves\\n")
    line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    await writer.wait_closed()
    b.close()
    return child_loop, process.exitcode, line.decode().strip()

if __name__ == "__main__":
    method = sys.argv[1]
    if len(sys.argv) > 2:
        import batonio
        result = batonio.run(start(method))
    else:
        result = asyncio.run(start(method))
    print(repr(result))
"""


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_multiprocessing_from_a_running_batonio_loop(tmp_path: Path, method: str) -> None:
    """Children start, run their own loop and exit; the parent's loop keeps serving."""
    child_loop, exitcode, line = _run(MULTIPROCESSING, tmp_path, method, "batonio")
    assert (exitcode, line) == (0, "parent still serves")
    assert child_loop == "asyncio"  # batonio.run() installs nothing for the children


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_python_m_batonio_children_run_on_batonio(tmp_path: Path, method: str) -> None:
    """``python -m batonio``: children of every start method run their loops on batonio."""
    plain = _run(MULTIPROCESSING, tmp_path, method)
    ours = _run(MULTIPROCESSING, tmp_path, method, runner=("-m", "batonio"))
    assert plain == ("asyncio", 0, "parent still serves")
    assert ours == ("batonio", 0, "parent still serves")
