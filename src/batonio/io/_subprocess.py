"""``loop.subprocess_exec`` / ``loop.subprocess_shell`` and the subprocess transport.

Follows asyncio's ``base_events.subprocess_exec/_shell`` (the argument checks, same
exception types and messages), ``base_subprocess.BaseSubprocessTransport`` and
``unix_events._UnixSubprocessTransport`` (the order of protocol calls):

- the child is started with ``subprocess.Popen`` (every argument it takes passes through);
  its pipes become our pipe transports, connected in a task; ``connection_made`` comes
  after every pipe is connected, and protocol calls due before (data, an early exit) are
  held and replayed after it, in order;
- ``process_exited`` is called when the child is reaped, ``connection_lost`` once it has
  exited *and* every pipe is closed; ``_wait()`` (``Process.wait``) returns then;
- exits are watched by ``ChildWatch`` (a pidfd per child, see ``_child_watch``).  A child
  watcher that the program set on the policy (asyncio's API up to 3.13) is honoured as
  asyncio honours it, except for asyncio's pidfd and thread watchers, whose work ours does
  without a thread and without reaching into loop internals.
PYTEST_DONT_REWRITE: the ``assert`` statements here are asyncio's own checks, with asyncio's
messages; batonio's pytest plugin makes pytest rewrite its distribution's modules, which
would change those messages in every user's test session.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal as _signal
import subprocess
import sys
import warnings
from asyncio import unix_events
from collections.abc import Callable
from typing import Any

from ._child_watch import child_watch_of

__all__ = ["SubprocessMixin", "SubprocessTransport"]

_PY312 = sys.version_info >= (3, 12)
_PY313 = sys.version_info >= (3, 13)
# asyncio's watchers whose job ChildWatch does the same way (or better: no thread)
_OURS_INSTEAD = tuple(
    getattr(unix_events, name) for name in ("PidfdChildWatcher", "ThreadedChildWatcher") if hasattr(unix_events, name)
)


def _logger() -> Any:
    from asyncio.log import logger

    return logger


class _PipeProtocol(asyncio.BaseProtocol):
    """The protocol of one of the child's pipes: forwards to the subprocess transport."""

    def __init__(self, owner: SubprocessTransport, fd: int) -> None:
        self.proc: SubprocessTransport | None = owner
        self.fd = fd
        self.pipe: Any = None
        self.disconnected = False

    def connection_made(self, transport: Any) -> None:
        self.pipe = transport

    def connection_lost(self, exc: BaseException | None) -> None:
        self.disconnected = True
        assert self.proc is not None
        self.proc._pipe_connection_lost(self.fd, exc)
        self.proc = None

    def pause_writing(self) -> None:
        assert self.proc is not None
        self.proc._protocol.pause_writing()

    def resume_writing(self) -> None:
        assert self.proc is not None
        self.proc._protocol.resume_writing()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fd} pipe={self.pipe!r}>"


class _ReadPipeProtocol(_PipeProtocol, asyncio.Protocol):
    """The protocol of the child's stdout or stderr."""

    def data_received(self, data: bytes) -> None:
        assert self.proc is not None
        self.proc._pipe_data_received(self.fd, data)


class SubprocessTransport(asyncio.SubprocessTransport):
    """A child process and its pipes; an ``asyncio.SubprocessTransport``."""

    def __init__(
        self,
        loop: Any,
        protocol: Any,
        args: Any,
        shell: bool,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        waiter: Any = None,
        extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(extra)
        self._closed = False
        self._protocol = protocol
        self._loop = loop
        self._proc: Any = None
        self._pid: int | None = None
        self._returncode: int | None = None
        self._exit_waiters: list[Any] | None = []
        self._pending_calls: collections.deque[tuple[Callable[..., object], tuple[Any, ...]]] | None = (
            collections.deque()
        )
        self._pipes: dict[int, _PipeProtocol | None] = {}
        self._finished = False
        for fd, how in enumerate((stdin, stdout, stderr)):
            if how == subprocess.PIPE:
                self._pipes[fd] = None
        try:
            self._proc = subprocess.Popen(
                args, shell=shell, stdin=stdin, stdout=stdout, stderr=stderr,
                universal_newlines=False, bufsize=bufsize, **kwargs,
            )  # fmt: skip
        except BaseException:
            self.close()
            raise
        self._pid = self._proc.pid
        self._extra["subprocess"] = self._proc  # type: ignore[attr-defined]
        if loop.get_debug():
            program = args if isinstance(args, (bytes, str)) else args[0]
            _logger().debug("process %r created: pid %s", program, self._pid)
        loop.create_task(self._connect_pipes(waiter))

    def __repr__(self) -> str:
        info = [type(self).__name__]
        if self._closed:
            info.append("closed")
        if self._pid is not None:
            info.append(f"pid={self._pid}")
        if self._returncode is not None:
            info.append(f"returncode={self._returncode}")
        elif self._pid is not None:
            info.append("running")
        else:
            info.append("not started")
        stdin, stdout, stderr = (self._pipes.get(fd) for fd in (0, 1, 2))
        if stdin is not None:
            info.append(f"stdin={stdin.pipe}")
        if stdout is not None and stderr is stdout:
            info.append(f"stdout=stderr={stdout.pipe}")
        else:
            if stdout is not None:
                info.append(f"stdout={stdout.pipe}")
            if stderr is not None:
                info.append(f"stderr={stderr.pipe}")
        return "<{}>".format(" ".join(info))

    # ------------------------------------------------------------------ connecting
    async def _connect_pipes(self, waiter: Any) -> None:
        """Wrap each PIPE end in a pipe transport, then connection_made() and the held calls."""
        loop = self._loop
        proc = self._proc
        try:
            if proc.stdin is not None:
                _, pipe = await loop.connect_write_pipe(lambda: _PipeProtocol(self, 0), proc.stdin)
                self._pipes[0] = pipe
            if proc.stdout is not None:
                _, pipe = await loop.connect_read_pipe(lambda: _ReadPipeProtocol(self, 1), proc.stdout)
                self._pipes[1] = pipe
            if proc.stderr is not None:
                _, pipe = await loop.connect_read_pipe(lambda: _ReadPipeProtocol(self, 2), proc.stderr)
                self._pipes[2] = pipe
            assert self._pending_calls is not None
            loop.call_soon(self._protocol.connection_made, self)
            for callback, data in self._pending_calls:
                loop.call_soon(callback, *data)
            self._pending_calls = None
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if waiter is not None and not waiter.cancelled():
                waiter.set_exception(exc)
        else:
            if waiter is not None and not waiter.cancelled():
                waiter.set_result(None)

    def _call(self, callback: Callable[..., object], *data: Any) -> None:
        """Call the protocol from the loop; before connection_made(), hold the call."""
        if self._pending_calls is not None:
            self._pending_calls.append((callback, data))
        else:
            self._loop.call_soon(callback, *data)

    def _pipe_connection_lost(self, fd: int, exc: BaseException | None) -> None:
        self._call(self._protocol.pipe_connection_lost, fd, exc)
        self._try_finish()

    def _pipe_data_received(self, fd: int, data: bytes) -> None:
        self._call(self._protocol.pipe_data_received, fd, data)

    # ------------------------------------------------------------------ exiting
    def _child_reaped(self, returncode: int | None) -> None:
        """ChildWatch's callback: None when other code reaped the child before us."""
        if returncode is None:
            returncode = self._proc.returncode if self._proc is not None else None
            if returncode is None:
                _logger().warning("Unknown child process pid %d, will report returncode 255", self._pid)
                returncode = 255
        self._process_exited(returncode)

    def _process_exited(self, returncode: int) -> None:
        assert returncode is not None, returncode
        assert self._returncode is None, self._returncode
        if self._loop.get_debug():
            _logger().info("%r exited with return code %r", self, returncode)
        self._returncode = returncode
        if self._proc.returncode is None:
            # The exit was reaped here: Popen must know it (else it warns in __del__ and a
            # later poll() would get ECHILD and report 0).
            self._proc.returncode = returncode
        self._call(self._protocol.process_exited)
        self._try_finish()

    async def _wait(self) -> int:
        """Return the returncode once the process exited and every pipe is closed."""
        if self._returncode is not None:
            return self._returncode
        waiter = self._loop.create_future()
        assert self._exit_waiters is not None
        self._exit_waiters.append(waiter)
        return await waiter  # type: ignore[no-any-return]

    def _try_finish(self) -> None:
        assert not self._finished
        if self._returncode is None:
            return
        if all(pipe is not None and pipe.disconnected for pipe in self._pipes.values()):
            self._finished = True
            self._call(self._call_connection_lost, None)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            for waiter in self._exit_waiters or ():
                if not waiter.cancelled():
                    waiter.set_result(self._returncode)
            self._exit_waiters = None
            self._loop = None
            self._proc = None
            self._protocol = None

    # ------------------------------------------------------------------ the interface
    def get_pid(self) -> int:
        """Return the child's process id."""
        return self._pid  # type: ignore[return-value]

    def get_returncode(self) -> int | None:
        """Return the child's returncode, None while it runs."""
        return self._returncode

    def get_pipe_transport(self, fd: int) -> Any:
        """Return the transport of pipe ``fd`` (0, 1 or 2), None if it is not a pipe."""
        pipe = self._pipes.get(fd)
        return None if pipe is None else pipe.pipe

    def set_protocol(self, protocol: Any) -> None:
        """Use ``protocol`` from now on."""
        self._protocol = protocol

    def get_protocol(self) -> Any:
        """Return the current protocol."""
        return self._protocol

    def is_closing(self) -> bool:
        """Return True once close() was called."""
        return self._closed

    def _check_proc(self) -> None:
        if self._proc is None:
            raise ProcessLookupError()

    def send_signal(self, signal: int) -> None:
        """Send ``signal`` to the child; ProcessLookupError once the transport finished."""
        self._check_proc()
        if _PY313:  # 3.13 signals the pid itself and ignores a child already gone
            if self._proc.returncode is not None:
                return  # reaped: the pid may already belong to another process
            try:
                os.kill(self._proc.pid, signal)
            except ProcessLookupError:
                pass
        else:
            self._proc.send_signal(signal)

    def terminate(self) -> None:
        """Send SIGTERM to the child."""
        if _PY313:
            self.send_signal(_signal.SIGTERM)
        else:
            self._check_proc()
            self._proc.terminate()

    def kill(self) -> None:
        """Send SIGKILL to the child."""
        if _PY313:
            self.send_signal(_signal.SIGKILL)
        else:
            self._check_proc()
            self._proc.kill()

    def close(self) -> None:
        """Close the pipes; kill the child if it still runs."""
        if self._closed:
            return
        self._closed = True
        for pipe in self._pipes.values():
            if pipe is not None:
                pipe.pipe.close()
        proc = self._proc
        if proc is not None and self._returncode is None and proc.poll() is None:
            if self._loop.get_debug():
                _logger().warning("Close running child process: kill %r", self)
            try:
                proc.kill()
            except (ProcessLookupError, PermissionError):
                pass  # exited already, or a setuid child

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if not self._closed:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self.close()


def _check_common_args(universal_newlines: Any, bufsize: Any, text: Any, encoding: Any, errors: Any) -> None:
    """asyncio refuses text mode and buffering for subprocess pipes (they carry bytes)."""
    if universal_newlines:
        raise ValueError("universal_newlines must be False")
    if bufsize != 0:
        raise ValueError("bufsize must be 0")
    if text:
        raise ValueError("text must be False")
    if encoding is not None:
        raise ValueError("encoding must be None")
    if errors is not None:
        raise ValueError("errors must be None")


def _explicit_watcher() -> Any:
    """A child watcher the program set on the policy (asyncio's API), if it must be used."""
    policy = asyncio.get_event_loop_policy()
    watcher = getattr(policy, "_watcher", None)
    if watcher is None or isinstance(watcher, _OURS_INSTEAD):
        return None
    return watcher


class SubprocessMixin:
    """Adds asyncio's subprocess API to a loop built on batonio's engine."""

    async def subprocess_shell(
        self,
        protocol_factory: Callable[[], Any],
        cmd: Any,
        *,
        stdin: Any = subprocess.PIPE,
        stdout: Any = subprocess.PIPE,
        stderr: Any = subprocess.PIPE,
        universal_newlines: bool = False,
        shell: bool = True,
        bufsize: int = 0,
        encoding: Any = None,
        errors: Any = None,
        text: Any = None,
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        """Run ``cmd`` through the shell; return ``(transport, protocol)``."""
        if not isinstance(cmd, (bytes, str)):
            raise ValueError("cmd must be a string")
        if universal_newlines:
            raise ValueError("universal_newlines must be False")
        if not shell:
            raise ValueError("shell must be True")
        _check_common_args(universal_newlines, bufsize, text, encoding, errors)
        protocol = protocol_factory()
        transport = await self._make_subprocess_transport(
            protocol, cmd, True, stdin, stdout, stderr, bufsize, **kwargs
        )
        if self._debug:  # type: ignore[attr-defined]
            _logger().info("run shell command %r: %r", cmd, transport)
        return transport, protocol

    async def subprocess_exec(
        self,
        protocol_factory: Callable[[], Any],
        program: Any,
        *args: Any,
        stdin: Any = subprocess.PIPE,
        stdout: Any = subprocess.PIPE,
        stderr: Any = subprocess.PIPE,
        universal_newlines: bool = False,
        shell: bool = False,
        bufsize: int = 0,
        encoding: Any = None,
        errors: Any = None,
        text: Any = None,
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        """Run ``program`` with ``args`` (no shell); return ``(transport, protocol)``."""
        if universal_newlines:
            raise ValueError("universal_newlines must be False")
        if shell:
            raise ValueError("shell must be False")
        _check_common_args(universal_newlines, bufsize, text, encoding, errors)
        popen_args = (program, *args)
        protocol = protocol_factory()
        transport = await self._make_subprocess_transport(
            protocol, popen_args, False, stdin, stdout, stderr, bufsize, **kwargs
        )
        if self._debug:  # type: ignore[attr-defined]
            _logger().info("execute program %r: %r", program, transport)
        return transport, protocol

    async def _make_subprocess_transport(
        self,
        protocol: Any,
        args: Any,
        shell: bool,
        stdin: Any,
        stdout: Any,
        stderr: Any,
        bufsize: int,
        extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SubprocessTransport:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            watcher = _explicit_watcher()
        if watcher is not None:
            return await self._subprocess_with_watcher(
                watcher, protocol, args, shell, stdin, stdout, stderr, bufsize, extra, kwargs
            )
        waiter = self.create_future()  # type: ignore[attr-defined]
        transport = SubprocessTransport(
            self, protocol, args, shell, stdin, stdout, stderr, bufsize, waiter=waiter, extra=extra, **kwargs
        )
        assert transport._pid is not None
        child_watch_of(self).watch(transport._pid, transport._child_reaped)
        await self._subprocess_connected(transport, waiter)
        return transport

    async def _subprocess_with_watcher(
        self, watcher: Any, protocol: Any, args: Any, shell: bool, stdin: Any, stdout: Any,
        stderr: Any, bufsize: int, extra: Any, kwargs: dict[str, Any],
    ) -> SubprocessTransport:  # fmt: skip
        """asyncio's way, with the policy's watcher (its semantics, threads and all)."""
        with watcher as entered:
            if not _PY312:  # 3.11 asks (and registers with) what __enter__ returned
                watcher = entered
            if not watcher.is_active():
                raise RuntimeError(
                    "asyncio.get_child_watcher() is not activated, subprocess support is not installed."
                )
            waiter = self.create_future()  # type: ignore[attr-defined]
            transport = SubprocessTransport(
                self, protocol, args, shell, stdin, stdout, stderr, bufsize, waiter=waiter, extra=extra, **kwargs
            )
            watcher.add_child_handler(transport.get_pid(), self._child_watcher_callback, transport)
            await self._subprocess_connected(transport, waiter)
        return transport

    def _child_watcher_callback(self, pid: int, returncode: int, transport: Any) -> None:
        self.call_soon_threadsafe(transport._process_exited, returncode)  # type: ignore[attr-defined]

    async def _subprocess_connected(self, transport: SubprocessTransport, waiter: Any) -> None:
        """Wait for the pipes; on failure or cancellation kill the child and wait for it."""
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            transport.close()
            await transport._wait()
            raise
