"""``python -m batonio``: run an unmodified asyncio program on batonio.

::

    python -m batonio script.py [args...]
    python -m batonio -m package.module [args...]
    python -m batonio -c "command" [args...]
    python -m batonio - [args...]          (program read from stdin)
    python -m batonio --inspect script.py  (ps/pstree may look at its tasks)
    python -m batonio ps PID | pstree PID  (the tasks of such a process)

It calls ``batonio.install()`` (every loop asyncio creates is then a batonio loop; children
started by multiprocessing's spawn and forkserver methods install it too, see
``batonio._compat._spawn``) and runs the program as plain ``python`` would, so that the
program cannot tell the difference:

* ``sys.argv`` is what ``python`` gives (``['script.py', args...]``; for ``-m`` the module's
  file path first; ``'-c'`` or ``'-'`` otherwise); ``sys.path[0]`` is the script's real
  directory (a directory or zip program: itself), the current directory for ``-m``, ``''``
  for ``-c`` and stdin (nothing with
  ``python -P``);
* the program runs in a fresh module that *becomes* ``sys.modules['__main__']`` for good
  (``runpy.run_path`` would swap it in only for the duration, and keep its own frames), with
  ``__file__``, ``__loader__`` and ``__spec__`` as ``python`` sets them; ``-m`` and
  directory / zip-file programs use runpy's own ``python -m`` machinery;
* an uncaught exception is printed by ``sys.excepthook`` with batonio's frames cut off the
  traceback (runpy's stay where python shows them too: ``-m`` and directory programs), then
  the exit status is 1; ``SystemExit`` passes through untouched (``python`` itself turns it
  into the exit status and message); an uncaught
  ``KeyboardInterrupt`` ends the process by SIGINT once the interpreter has run its atexit
  handlers, as ``python`` does since 3.8 (a shell sees status 130).
"""

from __future__ import annotations

import atexit
import builtins
import importlib.machinery
import importlib.util
import marshal
import os
import runpy
import signal
import sys
import types
import zipfile
from collections.abc import Callable, Sequence

from batonio._compat import install
from batonio._compat._spawn import enable_spawned_children
from batonio._version import __version__

__all__ = ["main"]

USAGE = """\
usage: batonio [-h] [--version] [--virtual-time] [--chaos-seed N] [--watchdog SECONDS]
               [--inspect] (script.py | -m module | -c command | -) [args ...]
       batonio {ps,pstree} PID

Run an unmodified asyncio program on batonio: every event loop asyncio creates
(asyncio.run, asyncio.Runner, asyncio.new_event_loop, asyncio.get_event_loop)
is a batonio loop.  Everything after the program is passed to it in sys.argv.

options:
  -h, --help          show this help message and exit
  --version           print batonio's version and exit
  --virtual-time      run every loop on a virtual clock (sleeps end at once, in
                      order; a deadlock raises batonio.DeadlockError)
  --chaos-seed N      chaos scheduling with seed N (BATONIO_CHAOS_SEED=N)
  --watchdog SECONDS  log every callback or task step that blocks the loop
                      longer than SECONDS (BATONIO_WATCHDOG=SECONDS)
  -m module           run a library module as a script, like python -m
  -c command          run a program passed as a string, like python -c
  -                   read the program from standard input
  --inspect           let `batonio ps/pstree PID` show the program's tasks (a
                      Unix socket only this user can use; BATONIO_INSPECT=1)

commands:
  ps PID              the table of the tasks of batonio process PID (as
                      python3.14 -m asyncio ps): id, name, stack, awaiters
  pstree PID          the tree of those tasks and the frames they await in
"""

# Set when the program died of KeyboardInterrupt: the process then ends by SIGINT at exit.
_interrupted = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program named on the command line on batonio; return the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stderr.write(USAGE)
        return 2
    first = args[0]
    if first in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if first in ("-V", "--version"):
        print(f"batonio {__version__}")
        return 0
    if first in ("ps", "pstree"):
        from batonio.inspect._client import main as inspect_main

        return inspect_main(args)
    try:
        args = _apply_debug_options(args)
    except ValueError as exc:
        sys.stderr.write(f"{exc}\n{USAGE}")
        return 2
    if not args:
        sys.stderr.write(USAGE)
        return 2
    first = args[0]
    _enable_inspect_if_asked()
    if first[:2] in ("-m", "-c"):
        option = first[:2]
        if first == option:
            if len(args) < 2:
                sys.stderr.write(f"Argument expected for the {option} option\n{USAGE}")
                return 2
            value, rest = args[1], args[2:]
        else:
            value, rest = first[2:], args[1:]
        _install()
        runner = _run_module if option == "-m" else _run_command
        return _run_guarded(lambda: runner(value, rest))
    if first == "--":
        args = args[1:]
        if not args:
            sys.stderr.write(USAGE)
            return 2
        first = args[0]
    elif first.startswith("-") and first != "-":
        sys.stderr.write(f"unknown option {first}\n{USAGE}")
        return 2
    _install()
    if first == "-":
        return _run_guarded(lambda: _run_stdin(args[1:]))
    return _run_guarded(lambda: _run_path(first, args[1:]))


# -- debugging options ----------------------------------------------------------------------

# Option -> (environment variable, whether it takes a value).  The environment carries the
# option to every loop the program creates (batonio._debug._options reads it), and to
# child processes that run batonio too.
_DEBUG_OPTIONS = {
    "--virtual-time": ("BATONIO_VIRTUAL_TIME", False),
    "--chaos-seed": ("BATONIO_CHAOS_SEED", True),
    "--watchdog": ("BATONIO_WATCHDOG", True),
    "--inspect": ("BATONIO_INSPECT", False),
}


def _apply_debug_options(args: list[str]) -> list[str]:
    """Consume the leading debugging options into the environment; return the rest."""
    settings: dict[str, str] = {}
    while args:
        name, eq, inline = args[0].partition("=")
        if name not in _DEBUG_OPTIONS:
            break
        variable, takes_value = _DEBUG_OPTIONS[name]
        if not takes_value:
            if eq:
                raise ValueError(f"{name} takes no value")
            settings[variable] = "1"
            args = args[1:]
            continue
        if eq:
            value, args = inline, args[1:]
        elif len(args) >= 2:
            value, args = args[1], args[2:]
        else:
            raise ValueError(f"{name} needs a value")
        settings[variable] = _check_option(name, value)
    os.environ.update(settings)
    return args


def _check_option(name: str, value: str) -> str:
    """Validate an option's value as the loop will read it; ValueError naming the option."""
    if name == "--chaos-seed":
        try:
            int(value)
        except ValueError:
            raise ValueError(f"{name} must be an integer, got {value!r}") from None
    else:
        try:
            seconds = float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
        if not seconds > 0 or seconds == float("inf"):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    return value


def _enable_inspect_if_asked() -> None:
    """``--inspect`` (or BATONIO_INSPECT=1): open the socket that ``ps``/``pstree`` read."""
    # batonio was imported before the options were read: its import-time check came early.
    if os.environ.get("BATONIO_INSPECT") == "1":
        from batonio.inspect import enable

        enable()


def _install() -> None:
    """Make every loop asyncio creates a batonio loop, here and in spawned children."""
    install()
    enable_spawned_children()


# -- running the program --------------------------------------------------------------------


def _fresh_main_module(loader: object = None) -> types.ModuleType:
    """Create an empty ``__main__`` module and make it ``sys.modules['__main__']``."""
    module = types.ModuleType("__main__")
    module.__builtins__ = builtins  # type: ignore[attr-defined]
    module.__loader__ = loader  # type: ignore[assignment]
    sys.modules["__main__"] = module
    return module


def _set_path0(entry: str) -> None:
    """Put ``entry`` where ``python`` puts the program's directory (unless ``-P``)."""
    if sys.flags.safe_path:
        return
    if sys.path:
        sys.path[0] = entry
    else:
        sys.path.insert(0, entry)


def _run_path(path: str, args: list[str]) -> None:
    """Run a script file, or a directory / zip file holding a ``__main__.py``."""
    sys.argv = [path, *args]
    if os.path.isdir(path) or (os.path.isfile(path) and zipfile.is_zipfile(path)):
        _set_path0(os.path.abspath(path))
        _fresh_main_module()
        runpy._run_module_as_main("__main__", alter_argv=False)  # type: ignore[attr-defined]
        return
    abspath = os.path.abspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        sys.stderr.write(
            f"{sys.executable}: can't open file {abspath!r}: [Errno {exc.errno}] {exc.strerror}\n"
        )
        raise SystemExit(2) from None
    _set_path0(os.path.dirname(os.path.realpath(path)))
    code: types.CodeType
    if data[:4] == importlib.util.MAGIC_NUMBER:
        # A compiled .pyc, which python runs too: a 16-byte header, then marshalled code.
        loader: object = importlib.machinery.SourcelessFileLoader("__main__", abspath)
        code = marshal.loads(data[16:])
    else:
        loader = importlib.machinery.SourceFileLoader("__main__", abspath)
        code = compile(data, abspath, "exec", dont_inherit=True)
    module = _fresh_main_module(loader)
    module.__file__ = abspath
    module.__cached__ = None  # type: ignore[attr-defined]
    exec(code, module.__dict__)


def _run_module(name: str, args: list[str]) -> None:
    """Run a module as ``python -m`` does (runpy fills in ``sys.argv[0]``)."""
    sys.argv = ["-m", *args]
    _set_path0(os.getcwd())
    _fresh_main_module()
    runpy._run_module_as_main(name, alter_argv=True)  # type: ignore[attr-defined]


def _run_command(command: str, args: list[str]) -> None:
    """Run a program given as a string, as ``python -c`` does."""
    sys.argv = ["-c", *args]
    _set_path0("")
    module = _fresh_main_module(importlib.machinery.BuiltinImporter)
    exec(compile(command, "<string>", "exec", dont_inherit=True), module.__dict__)


def _run_stdin(args: list[str]) -> None:
    """Run a program read from standard input, as ``python -`` does."""
    sys.argv = ["-", *args]
    _set_path0("")
    module = _fresh_main_module(importlib.machinery.BuiltinImporter)
    module.__file__ = "<stdin>"
    exec(compile(sys.stdin.read(), "<stdin>", "exec", dont_inherit=True), module.__dict__)


# -- what python does when the program fails ------------------------------------------------


def _run_guarded(run: Callable[[], None]) -> int:
    """Run the program; report an uncaught exception as ``python`` would; return the status."""
    atexit.register(_exit_by_sigint_if_interrupted)  # first registered: runs last
    try:
        run()
    except SystemExit:
        raise
    except BaseException as exc:
        _print_uncaught(exc)
        if isinstance(exc, KeyboardInterrupt):
            global _interrupted
            _interrupted = True
        return 1
    return 0


def _print_uncaught(exc: BaseException) -> None:
    """Print ``exc`` through ``sys.excepthook``, without this module's frames."""
    # Only ours go: ``python -m`` and directory programs show runpy's two frames under plain
    # python too (runpy is what runs them there), and a script never passes through runpy.
    own = _run_guarded.__code__.co_filename
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == own:
        tb = tb.tb_next
    exc.__traceback__ = tb
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = exc
    sys.excepthook(type(exc), exc, tb)


def _exit_by_sigint_if_interrupted() -> None:
    """At exit after an uncaught KeyboardInterrupt, die of SIGINT as ``python`` does."""
    if not _interrupted:
        return
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(128 + signal.SIGINT)  # still alive (SIGINT blocked): python's fallback status


if __name__ == "__main__":
    sys.exit(main())
