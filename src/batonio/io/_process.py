"""The high-level process API: ``create_subprocess_exec``/``_shell`` and ``Process``.

Follows asyncio's ``asyncio.subprocess`` module: the child's pipes are batonio's
``StreamReader`` (stdout, stderr) and ``StreamWriter`` (stdin); ``communicate()`` feeds
stdin, reads both outputs to EOF concurrently, then waits for the exit.  Broken-pipe and
reset errors while feeding stdin are swallowed, as asyncio does: a child that exits without
reading its input still lets ``communicate()`` complete.  On 3.11 ``communicate()`` touches
stdin only when ``input`` is given; from 3.12 it always drains and closes it (gh-100133).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

from ._streams import _DEFAULT_LIMIT, FlowControlMixin, StreamReader, StreamWriter

__all__ = ["Process", "SubprocessStreamProtocol", "create_subprocess_exec", "create_subprocess_shell"]

PIPE = subprocess.PIPE
STDOUT = subprocess.STDOUT
DEVNULL = subprocess.DEVNULL

_PY312 = sys.version_info >= (3, 12)


def _logger() -> Any:
    from asyncio.log import logger

    return logger


class SubprocessStreamProtocol(FlowControlMixin, asyncio.SubprocessProtocol):  # type: ignore[misc]
    """Turns a subprocess transport's pipes into streams (``Process.stdin/stdout/stderr``)."""

    def __init__(self, limit: int, loop: Any) -> None:
        super().__init__(loop=loop)
        self._limit = limit
        self.stdin: Any = None
        self.stdout: Any = None
        self.stderr: Any = None
        self._transport: Any = None
        self._process_exited = False
        self._pipe_fds: list[int] = []
        self._stdin_closed = self._loop.create_future()

    def __repr__(self) -> str:
        info = [type(self).__name__]
        if self.stdin is not None:
            info.append(f"stdin={self.stdin!r}")
        if self.stdout is not None:
            info.append(f"stdout={self.stdout!r}")
        if self.stderr is not None:
            info.append(f"stderr={self.stderr!r}")
        return "<{}>".format(" ".join(info))

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        """Make the streams of the pipes the transport has."""
        self._transport = transport
        for fd in (1, 2):
            pipe = transport.get_pipe_transport(fd)
            if pipe is not None:
                reader = StreamReader(limit=self._limit, loop=self._loop)
                reader.set_transport(pipe)
                self._pipe_fds.append(fd)
                if fd == 1:
                    self.stdout = reader
                else:
                    self.stderr = reader
        stdin = transport.get_pipe_transport(0)
        if stdin is not None:
            self.stdin = StreamWriter(stdin, protocol=self, reader=None, loop=self._loop)

    def pipe_data_received(self, fd: int, data: Any) -> None:
        """Feed what the child wrote to its stream."""
        reader = self._reader_of(fd)
        if reader is not None:
            reader.feed_data(data)

    def pipe_connection_lost(self, fd: int, exc: BaseException | None) -> None:
        """A pipe closed: EOF (or the error) on its stream; stdin's close waiter completes."""
        if fd == 0:
            if self.stdin is not None:
                self.stdin.close()
            self.connection_lost(exc)  # type: ignore[arg-type]
            if exc is None:
                self._stdin_closed.set_result(None)
            else:
                self._stdin_closed.set_exception(exc)
                self._stdin_closed._log_traceback = False
            return
        reader = self._reader_of(fd)
        if reader is not None:
            if exc is None:
                reader.feed_eof()
            else:
                reader.set_exception(exc)
        if fd in self._pipe_fds:
            self._pipe_fds.remove(fd)
        self._maybe_close_transport()

    def process_exited(self) -> None:
        """The child exited: close the transport once its output pipes are done."""
        self._process_exited = True
        self._maybe_close_transport()

    def _reader_of(self, fd: int) -> Any:
        if fd == 1:
            return self.stdout
        if fd == 2:
            return self.stderr
        return None

    def _maybe_close_transport(self) -> None:
        if not self._pipe_fds and self._process_exited:
            self._transport.close()
            self._transport = None

    def _get_close_waiter(self, stream: Any) -> Any:
        if stream is self.stdin:
            return self._stdin_closed
        return None


class Process:
    """A child process started by create_subprocess_exec() or create_subprocess_shell()."""

    def __init__(self, transport: Any, protocol: Any, loop: Any) -> None:
        self._transport = transport
        self._protocol = protocol
        self._loop = loop
        self.stdin = protocol.stdin
        self.stdout = protocol.stdout
        self.stderr = protocol.stderr
        self.pid = transport.get_pid()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.pid}>"

    @property
    def returncode(self) -> int | None:
        """The exit code (``-N``: killed by signal N); None while the child runs."""
        return self._transport.get_returncode()  # type: ignore[no-any-return]

    async def wait(self) -> int:
        """Wait for the child to exit (and its pipes to close); return the returncode."""
        return await self._transport._wait()  # type: ignore[no-any-return]

    def send_signal(self, signal: int) -> None:
        """Send ``signal`` to the child."""
        self._transport.send_signal(signal)

    def terminate(self) -> None:
        """Send SIGTERM to the child."""
        self._transport.terminate()

    def kill(self) -> None:
        """Send SIGKILL to the child."""
        self._transport.kill()

    async def _feed_stdin(self, input: Any) -> None:
        debug = self._loop.get_debug()
        try:
            if input is not None or not _PY312:
                self.stdin.write(input)
                if debug:
                    _logger().debug("%r communicate: feed stdin (%s bytes)", self, len(input))
            await self.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            # the child closed its stdin (or exited) before reading it all: not an error
            if debug:
                _logger().debug("%r communicate: stdin got %r", self, exc)
        if debug:
            _logger().debug("%r communicate: close stdin", self)
        self.stdin.close()

    async def _noop(self) -> None:
        return None

    async def _read_stream(self, fd: int) -> bytes:
        transport = self._transport.get_pipe_transport(fd)
        stream = self.stderr if fd == 2 else self.stdout
        name = "stderr" if fd == 2 else "stdout"
        if self._loop.get_debug():
            _logger().debug("%r communicate: read %s", self, name)
        output: bytes = await stream.read()
        if self._loop.get_debug():
            _logger().debug("%r communicate: close %s", self, name)
        transport.close()
        return output

    async def communicate(self, input: Any = None) -> tuple[Any, Any]:
        """Send ``input`` to stdin, read stdout and stderr to EOF, wait for the exit."""
        feeds_stdin = self.stdin is not None if _PY312 else input is not None
        stdin = self._feed_stdin(input) if feeds_stdin else self._noop()
        stdout = self._read_stream(1) if self.stdout is not None else self._noop()
        stderr = self._read_stream(2) if self.stderr is not None else self._noop()
        _, out, err = await asyncio.gather(stdin, stdout, stderr)
        await self.wait()
        return (out, err)


async def create_subprocess_shell(
    cmd: Any, stdin: Any = None, stdout: Any = None, stderr: Any = None, limit: int = _DEFAULT_LIMIT, **kwds: Any
) -> Process:
    """Run ``cmd`` through the shell; return a Process."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_shell(
        lambda: SubprocessStreamProtocol(limit=limit, loop=loop),
        cmd, stdin=stdin, stdout=stdout, stderr=stderr, **kwds,
    )  # fmt: skip
    return Process(transport, protocol, loop)


async def create_subprocess_exec(
    program: Any,
    *args: Any,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    limit: int = _DEFAULT_LIMIT,
    **kwds: Any,
) -> Process:
    """Run ``program`` with ``args`` (no shell); return a Process."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.subprocess_exec(
        lambda: SubprocessStreamProtocol(limit=limit, loop=loop),
        program, *args, stdin=stdin, stdout=stdout, stderr=stderr, **kwds,
    )  # fmt: skip
    return Process(transport, protocol, loop)
