"""The opt-in control socket that ``python -m batonio ps/pstree PID`` talk to.

Off unless asked for (``python -m batonio --inspect``, ``BATONIO_INSPECT=1`` or
``batonio.inspect.enable()``): nothing listens otherwise.  When on:

- a Unix stream socket at ``$XDG_RUNTIME_DIR/batonio/PID.sock``, else
  ``<tempdir>/batonio-UID/PID.sock`` (a shared temp dir needs a directory per user); the
  directory is made mode 0700 and the socket 0600, and it is removed at exit;
- a daemon thread accepts connections and checks each peer's uid with ``SO_PEERCRED``:
  only the process's own user is answered, anyone else gets a refusal and is hung up on;
- to answer, it asks each loop for a snapshot with ``call_soon_threadsafe`` and waits for it
  (1 s by default).  A loop that does not answer in that time is blocked in a callback or a
  task step: the reply says so and carries that thread's current stack instead, so neither
  the client nor the server hangs.

The loops are found through asyncio's task registries (batonio's tasks register there), so
the loop and the task step are not touched at all.  The protocol is one JSON request line
(``{"cmd": "snapshot", "timeout": S}``) answered by one JSON document, then the server closes.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import struct
import sys
import tempfile
import threading
import weakref
from asyncio import tasks as _aio_tasks
from typing import Any

from ._snapshot import blocked_loop_report, loop_snapshot

__all__ = ["disable", "enable", "is_enabled", "socket_dir", "socket_path"]

DEFAULT_TIMEOUT = 1.0
_MAX_REQUEST = 4096

_lock = threading.Lock()
_server: _ControlServer | None = None
_extra_loops: weakref.WeakSet[Any] = weakref.WeakSet()


def socket_dir() -> str:
    """The directory holding this user's inspect sockets."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "batonio")
    return os.path.join(tempfile.gettempdir(), f"batonio-{os.getuid()}")


def socket_path(pid: int) -> str:
    """Where the inspect socket of process ``pid`` of this user is."""
    return os.path.join(socket_dir(), f"{pid}.sock")


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (Linux SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


# -- which loops --------------------------------------------------------------------------

def _registered_tasks() -> list[Any]:
    """Every task asyncio's registries hold (all loops, all threads), copied safely."""
    sources = [getattr(_aio_tasks, name, None)
               for name in ("_all_tasks", "_scheduled_tasks", "_eager_tasks")]
    found: list[Any] = []
    for source in sources:
        if source is None:
            continue
        for _ in range(100):
            try:
                found.extend(list(source))
                break
            except RuntimeError:  # changed size while copied: another thread made a task
                continue
    return found


def _loops() -> list[Any]:
    """The open loops that have unfinished tasks, or that enable() was called in."""
    loops: dict[int, Any] = {}
    for task in _registered_tasks():
        try:
            loop = task.get_loop()
        except (AttributeError, RuntimeError):
            continue
        loops.setdefault(id(loop), loop)
    for loop in list(_extra_loops):
        loops.setdefault(id(loop), loop)
    return [loop for loop in loops.values() if not loop.is_closed()]


def _snapshot_of(loop: Any, timeout: float) -> dict[str, Any] | None:
    """A snapshot taken on the loop's thread, a blocked-loop report, or None (closed)."""
    if not loop.is_running():
        return loop_snapshot(loop)  # nothing runs its tasks now: read them from here
    done = threading.Event()
    box: list[dict[str, Any]] = []

    def take() -> None:
        try:
            box.append(loop_snapshot(loop))
        finally:
            done.set()

    try:
        loop.call_soon_threadsafe(take)
    except RuntimeError:  # closed meanwhile
        return None
    if not done.wait(timeout):
        return blocked_loop_report(loop, timeout)
    return box[0] if box else {"thread_id": 0, "tasks": [], "error": "snapshot failed"}


def snapshot_all(timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """The reply to a snapshot request: one entry per loop."""
    loops = []
    for loop in _loops():
        entry = _snapshot_of(loop, timeout)
        if entry is not None:
            loops.append(entry)
    return {"pid": os.getpid(), "python": sys.version.split()[0], "loops": loops}


# -- the server ----------------------------------------------------------------------------

class _ControlServer:
    """The listening socket and the daemon thread that answers on it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self._sock = _listen(path)
        self._closing = False
        self._thread = threading.Thread(target=self._serve, name="batonio-inspect",
                                        daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed by close()
            with conn:
                try:
                    self._answer(conn)
                except OSError:
                    pass  # the client went away

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(10.0)
        uid = peer_uid(conn)
        request = _read_request(conn)  # read first, so that the peer sees our answer
        if uid != os.getuid():
            _send(conn, {"error": f"refused: peer uid {uid} is not the owner uid "
                                  f"{os.getuid()} of process {os.getpid()}"})
            return
        if request is None or request.get("cmd") != "snapshot":
            _send(conn, {"error": f"unknown request {request!r}: expected "
                                  '{"cmd": "snapshot"}'})
            return
        timeout = request.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(timeout, (int, float)) or not 0 < timeout <= 60:
            timeout = DEFAULT_TIMEOUT
        _send(conn, snapshot_all(float(timeout)))

    def close(self) -> None:
        self._closing = True
        if os.getpid() != self.pid:
            # A forked child: the listening socket, its file and the thread are the
            # parent's.  Only our copy of the fd goes (shutdown would stop the parent's).
            self._sock.close()
            return
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the thread's accept()
        self._sock.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        if self._thread is not threading.current_thread():
            self._thread.join(5.0)


def _listen(path: str) -> socket.socket:
    """Bind a 0600 Unix socket at ``path`` inside a 0700 directory of ours."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    info = os.stat(directory)
    if info.st_uid != os.getuid():
        raise PermissionError(f"inspect socket directory {directory!r} belongs to uid "
                              f"{info.st_uid}, not to this process's uid {os.getuid()}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a stale socket of an earlier process with our pid
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old_mask = os.umask(0o177)
        try:
            sock.bind(path)
        finally:
            os.umask(old_mask)
        os.chmod(path, 0o600)
        sock.listen(8)
    except BaseException:
        sock.close()
        raise
    return sock


def _read_request(conn: socket.socket) -> dict[str, Any] | None:
    data = b""
    while b"\n" not in data and len(data) < _MAX_REQUEST:
        chunk = conn.recv(_MAX_REQUEST)
        if not chunk:
            break
        data += chunk
    try:
        request = json.loads(data.split(b"\n", 1)[0] or b"null")
    except ValueError:
        return None
    return request if isinstance(request, dict) else None


def _send(conn: socket.socket, reply: dict[str, Any]) -> None:
    conn.sendall(json.dumps(reply).encode() + b"\n")


# -- switching it on and off -----------------------------------------------------------------

def enable() -> str:
    """Open this process's inspect socket (once) and return its path."""
    global _server
    with _lock:
        _remember_running_loop()
        if _server is None or _server.path != socket_path(os.getpid()):
            _server = _ControlServer(socket_path(os.getpid()))
            atexit.register(disable)
        return _server.path


def disable() -> None:
    """Close the inspect socket and remove its file (a no-op when off)."""
    global _server
    with _lock:
        server, _server = _server, None
    if server is not None:
        server.close()


def is_enabled() -> bool:
    """Whether this process answers ``python -m batonio ps``."""
    return _server is not None


def _forget_after_fork() -> None:
    """In a forked child: close the inherited socket, keep the parent's file."""
    global _server
    server, _server = _server, None
    if server is not None:
        server.close()


os.register_at_fork(after_in_child=_forget_after_fork)


def _remember_running_loop() -> None:
    import asyncio

    loop = asyncio._get_running_loop()
    if loop is not None:
        _extra_loops.add(loop)
