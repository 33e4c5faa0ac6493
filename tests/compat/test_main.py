"""``python -m batonio``: a program run through it behaves as under plain ``python``.

Each test writes a small program to ``tmp_path`` and runs it in a subprocess both ways,
comparing stdout, stderr and the exit status.  The last stdout line of the programs that use
asyncio names the module of the running loop's class, which is where the two runs differ.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import batonio
from batonio.__main__ import main
from batonio._api._loops import _loop_class

SRC = str(Path(batonio.__file__).resolve().parent.parent)
TIMEOUT = 60
LOOP_MODULE = _loop_class().__module__


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONSTARTUP", None)
    return env


def _run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def _both(
    args: list[str], cwd: Path, stdin: str | None = None
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Run ``python ARGS`` and ``python -m batonio ARGS``."""
    return _run(args, cwd, stdin), _run(["-m", "batonio", *args], cwd, stdin)


def _write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


PROBE = """\
import asyncio, sys
import __main__

async def main():
    return type(asyncio.get_running_loop()).__module__

print(sys.argv)
print(__name__, __main__ is sys.modules[__name__])
print(sys.path[0])
print(__file__ if "__file__" in globals() else None)
print(__spec__ and __spec__.name, type(__loader__).__name__ if __loader__ else None)
print(asyncio.run(main()))
"""


def _same_but_loop(
    plain: subprocess.CompletedProcess[str], ours: subprocess.CompletedProcess[str]
) -> None:
    assert (ours.returncode, ours.stderr) == (plain.returncode, plain.stderr)
    plain_lines, our_lines = plain.stdout.splitlines(), ours.stdout.splitlines()
    assert our_lines[:-1] == plain_lines[:-1]
    assert plain_lines[-1].startswith("asyncio")
    assert our_lines[-1] == LOOP_MODULE


def test_script(tmp_path: Path) -> None:
    _write(tmp_path / "pkg" / "prog.py", PROBE)
    plain, ours = _both(["pkg/prog.py", "a", "--b", "-m"], tmp_path)
    assert plain.returncode == 0, plain.stderr
    _same_but_loop(plain, ours)
    assert ours.stdout.splitlines()[0] == "['pkg/prog.py', 'a', '--b', '-m']"


def test_module(tmp_path: Path) -> None:
    _write(tmp_path / "pkg" / "__init__.py", "")
    _write(tmp_path / "pkg" / "mod.py", PROBE)
    plain, ours = _both(["-m", "pkg.mod", "x"], tmp_path)
    assert plain.returncode == 0, plain.stderr
    _same_but_loop(plain, ours)


def test_package_main_and_directory(tmp_path: Path) -> None:
    _write(tmp_path / "app" / "__main__.py", PROBE)
    _write(tmp_path / "app" / "__init__.py", "")
    for args in (["-m", "app", "1"], ["app", "2"]):
        plain, ours = _both(args, tmp_path)
        assert plain.returncode == 0, plain.stderr
        _same_but_loop(plain, ours)


def test_command_and_stdin(tmp_path: Path) -> None:
    plain, ours = _both(["-c", PROBE, "arg"], tmp_path)
    assert plain.returncode == 0, plain.stderr
    _same_but_loop(plain, ours)
    plain, ours = _both(["-", "arg"], tmp_path, stdin=PROBE)
    assert plain.returncode == 0, plain.stderr
    _same_but_loop(plain, ours)


def test_uncaught_exception_traceback(tmp_path: Path) -> None:
    _write(
        tmp_path / "fail.py",
        """\
        import asyncio

        async def inner():
            await asyncio.sleep(0)
            try:
                {}["missing"]
            except KeyError as exc:
                raise ValueError("boom") from exc

        print("before")
        asyncio.run(inner())
        """,
    )
    plain, ours = _both(["fail.py"], tmp_path)
    assert plain.returncode == ours.returncode == 1
    assert ours.stdout == plain.stdout == "before\n"
    assert ours.stderr.endswith("ValueError: boom\n")
    # The first frame is the program's, exactly as python prints it; runner/loop frames in
    # the middle differ (asyncio's loop against batonio's), the program's frames do not.
    assert ours.stderr.splitlines()[:3] == plain.stderr.splitlines()[:3]
    assert "runpy" not in ours.stderr and "batonio/__main__" not in ours.stderr
    def own(text: str) -> list[str]:
        return [line for line in text.splitlines() if "fail.py" in line]

    assert own(ours.stderr) == own(plain.stderr)


def test_plain_failure_is_identical(tmp_path: Path) -> None:
    _write(
        tmp_path / "fail.py",
        """\
        def f():
            raise RuntimeError("plain")
        f()
        """,
    )
    plain, ours = _both(["fail.py"], tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert ours.returncode == 1


def test_module_failure_keeps_runpy_frames_as_python_does(tmp_path: Path) -> None:
    _write(tmp_path / "pkg" / "__init__.py", "")
    _write(
        tmp_path / "pkg" / "boom.py",
        """\
        def f():
            raise OSError(5, "boom")
        f()
        """,
    )
    plain, ours = _both(["-m", "pkg.boom"], tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.returncode == 1 and "runpy" in plain.stderr


def test_syntax_error(tmp_path: Path) -> None:
    _write(tmp_path / "bad.py", "x = (\n")
    plain, ours = _both(["bad.py"], tmp_path)
    assert (ours.returncode, ours.stderr) == (plain.returncode, plain.stderr) == (1, plain.stderr)
    assert "SyntaxError" in ours.stderr


@pytest.mark.parametrize(
    "body",
    ["raise SystemExit(3)", "raise SystemExit('bye')", "import sys; sys.exit()", "raise SystemExit(None)"],
)
def test_system_exit(tmp_path: Path, body: str) -> None:
    _write(tmp_path / "exit.py", f"import atexit\natexit.register(print, 'atexit')\n{body}\n")
    plain, ours = _both(["exit.py"], tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (plain.returncode, plain.stdout, plain.stderr)


def test_keyboard_interrupt_exit_status(tmp_path: Path) -> None:
    _write(
        tmp_path / "kb.py",
        """\
        import atexit
        atexit.register(print, "atexit ran")
        print("start", flush=False)
        raise KeyboardInterrupt
        """,
    )
    plain, ours = _both(["kb.py"], tmp_path)
    assert plain.returncode == -signal.SIGINT
    assert (ours.returncode, ours.stdout, ours.stderr) == (plain.returncode, plain.stdout, plain.stderr)


def test_ctrl_c_during_asyncio_run(tmp_path: Path) -> None:
    _write(
        tmp_path / "sleepy.py",
        """\
        import asyncio, sys

        async def main():
            print(type(asyncio.get_running_loop()).__module__, flush=True)
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                print("cancelled", flush=True)
                raise

        asyncio.run(main())
        """,
    )
    results = []
    for prefix in ([], ["-m", "batonio"]):
        proc = subprocess.Popen(
            [sys.executable, *prefix, "sleepy.py"],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        first = proc.stdout.readline()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
        results.append((first.strip(), proc.returncode, out, err.splitlines()[-1]))
    plain, ours = results
    assert plain[1:] == ours[1:] == (-signal.SIGINT, "cancelled\n", "KeyboardInterrupt")
    assert ours[0] == LOOP_MODULE


def test_missing_script_and_module(tmp_path: Path) -> None:
    plain, ours = _both(["nope.py"], tmp_path)
    assert ours.returncode == plain.returncode == 2
    assert f"can't open file {str(tmp_path / 'nope.py')!r}: [Errno 2]" in ours.stderr
    plain, ours = _both(["-m", "no_such_module_here"], tmp_path)
    assert ours.returncode == plain.returncode == 1
    assert ours.stderr.endswith(": No module named no_such_module_here\n")


def test_help_version_and_usage_errors(tmp_path: Path) -> None:
    for flag in ("-h", "--help"):
        done = _run(["-m", "batonio", flag], tmp_path)
        assert done.returncode == 0
        assert done.stdout.startswith("usage: batonio")
    done = _run(["-m", "batonio", "--version"], tmp_path)
    assert (done.returncode, done.stdout) == (0, f"batonio {batonio.__version__}\n")
    for args in ([], ["-m"], ["--bogus"]):
        done = _run(["-m", "batonio", *args], tmp_path)
        assert done.returncode == 2
        assert "usage: batonio" in done.stderr


def test_main_function_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"batonio {batonio.__version__}\n"
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err
