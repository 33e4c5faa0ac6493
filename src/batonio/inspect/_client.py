"""``python -m batonio ps PID`` and ``pstree PID``: the tasks of another batonio process.

Prints the table and the tree of CPython 3.14's ``python -m asyncio ps/pstree`` (same
columns, widths and tree drawing), from the snapshot the process's control socket sends
(``_server``).  A loop of that process that did not answer in time is reported as blocked,
with its thread's stack.

Refusals are errors on stderr and exit status 1: a PID that is not running, a process of
another user, a process without the socket (not batonio, or not opted in), a socket that
does not answer (stale), or the server's own refusal.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ._server import DEFAULT_TIMEOUT, socket_path

__all__ = ["InspectError", "build_task_table", "build_task_tree", "fetch_snapshot", "main"]

USAGE = "usage: python -m batonio {ps,pstree} PID\n"
OPT_IN = ("run it with `python -m batonio --inspect`, BATONIO_INSPECT=1, "
          "or call batonio.inspect.enable() in it")


class InspectError(Exception):
    """The process cannot be inspected; the message says why."""


# -- fetching ------------------------------------------------------------------------------

def _check_process(pid: int) -> None:
    """Refuse a PID that does not run, or that belongs to another user."""
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
    except FileNotFoundError:
        raise InspectError(f"no process with PID {pid}") from None
    if owner != os.getuid():
        raise InspectError(f"process {pid} belongs to uid {owner}, not to you (uid "
                           f"{os.getuid()}): only its owner may inspect it")


def _check_socket(pid: int, path: str) -> None:
    """Refuse a missing socket (not batonio, not opted in) or one of another user."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InspectError(f"process {pid} has no batonio inspect socket ({path}): it does "
                           f"not run batonio or did not opt in; {OPT_IN}") from None
    except PermissionError:
        raise InspectError(f"the inspect socket {path} of process {pid} is not "
                           f"accessible to you (uid {os.getuid()})") from None
    if info.st_uid != os.getuid():
        raise InspectError(f"the inspect socket {path} of process {pid} belongs to uid "
                           f"{info.st_uid}, not to you (uid {os.getuid()}): refused")


def fetch_snapshot(pid: int, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
    """Ask process ``pid`` for its tasks; InspectError with the reason if it cannot be."""
    _check_process(pid)
    path = socket_path(pid)
    _check_socket(pid, path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout + 10.0)
        try:
            sock.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            raise InspectError(f"process {pid} does not answer on {path} (a stale socket? "
                               f"{OPT_IN})") from None
        sock.sendall(json.dumps({"cmd": "snapshot", "timeout": timeout}).encode() + b"\n")
        data = _read_all(sock, pid)
    try:
        reply = json.loads(data)
    except ValueError:
        raise InspectError(f"process {pid} sent an unreadable reply on {path}") from None
    if not isinstance(reply, dict):
        raise InspectError(f"process {pid} sent an unreadable reply on {path}")
    if "error" in reply:
        raise InspectError(f"process {pid}: {reply['error']}")
    return reply


def _read_all(sock: socket.socket, pid: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            raise InspectError(f"process {pid} did not reply in time") from None
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


# -- the table -------------------------------------------------------------------------------

def _names(stack: list[list[Any]]) -> str:
    return " -> ".join(str(frame[0]) for frame in stack)


def build_task_table(snapshot: dict[str, Any]) -> list[list[str]]:
    """One row per (task, awaiter): tid, task id, name, stack, awaiter chain, name, id."""
    names = {t["task_id"]: t["task_name"] for loop in snapshot["loops"]
             for t in loop.get("tasks", ())}
    rows = []
    for loop in snapshot["loops"]:
        tid = str(loop["thread_id"])
        for task in loop.get("tasks", ()):
            head = [tid, hex(task["task_id"]), task["task_name"], _names(task["coroutine_stack"])]
            if not task["awaited_by"]:
                rows.append([*head, "", "", "0x0"])
            for awaiter in task["awaited_by"]:
                rows.append([*head, _names(awaiter["call_stack"]),
                             names.get(awaiter["task_id"], "Unknown"), hex(awaiter["task_id"])])
    return rows


def print_task_table(snapshot: dict[str, Any], out: TextIO) -> None:
    """Print 3.14's ``ps`` table."""
    header = ["tid", "task id", "task name", "coroutine stack", "awaiter chain",
              "awaiter name", "awaiter id"]
    print(_table_line(header), file=out)
    print("-" * 180, file=out)
    for row in build_task_table(snapshot):
        print(_table_line(row), file=out)


def _table_line(cells: Sequence[str]) -> str:
    widths = (10, 20, 20, 50, 50, 15, 15)
    return " ".join(f"{cell:<{width}}" for cell, width in zip(cells, widths, strict=True))


# -- the tree --------------------------------------------------------------------------------

class CycleError(InspectError):
    """Tasks await each other: there is no tree to draw."""


def _frame_label(frame: list[Any]) -> str:
    name, filename, line = frame
    if not filename and not line:
        return str(name)
    return f"{name} {filename}:{line}"


class _Tree:
    """Tasks and the coroutine frames between them; children in insertion order."""

    def __init__(self) -> None:
        self.labels: dict[Any, str] = {}
        self.children: dict[Any, list[Any]] = {}
        self._frame_nodes: dict[tuple[Any, str], Any] = {}

    def task(self, task_id: int, name: str) -> Any:
        key = ("task", task_id)
        self.labels.setdefault(key, f"(T) {name}")
        return key

    def frame_under(self, parent: Any, label: str) -> Any:
        key = self._frame_nodes.get((parent, label))
        if key is None:
            key = ("frame", len(self._frame_nodes))
            self._frame_nodes[(parent, label)] = key
            self.labels[key] = f" {label}"
            self.children.setdefault(parent, []).append(key)
        return key

    def attach(self, parent: Any, child: Any) -> None:
        kids = self.children.setdefault(parent, [])
        if child not in kids:
            kids.append(child)

    def roots(self) -> list[Any]:
        below = {kid for kids in self.children.values() for kid in kids}
        return [key for key in self.labels if key not in below]

    def render(self, key: Any, prefix: str, last: bool, lines: list[str]) -> None:
        lines.append(f"{prefix}{'└── ' if last else '├── '}{self.labels[key]}")
        deeper = prefix + ("    " if last else "│   ")
        kids = self.children.get(key, [])
        for i, kid in enumerate(kids):
            self.render(kid, deeper, i == len(kids) - 1, lines)


def _find_cycles(edges: dict[int, list[int]]) -> list[list[int]]:
    """Cycles in the awaiter -> awaited task graph (depth-first, by back edges)."""
    state: dict[int, int] = {}  # 1: on the current path, 2: finished
    path: list[int] = []
    cycles: list[list[int]] = []

    def visit(node: int) -> None:
        state[node] = 1
        path.append(node)
        for nxt in edges.get(node, ()):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in list(edges):
        if node not in state:
            visit(node)
    return cycles


def build_task_tree(snapshot: dict[str, Any]) -> list[list[str]]:
    """The lines of each tree (one per root task), as 3.14's ``pstree`` draws them."""
    tasks = [t for loop in snapshot["loops"] for t in loop.get("tasks", ())]
    names = {t["task_id"]: t["task_name"] for t in tasks}
    edges: dict[int, list[int]] = {}
    for t in tasks:
        for awaiter in t["awaited_by"]:
            edges.setdefault(awaiter["task_id"], []).append(t["task_id"])
    cycles = _find_cycles(edges)
    if cycles:
        shown = "\n".join("cycle: " + " → ".join(names.get(i, hex(i)) for i in c)
                          for c in cycles)
        raise CycleError(f"await-graph contains cycles - cannot print a tree!\n\n{shown}")
    tree = _Tree()
    for t in tasks:
        tree.task(t["task_id"], t["task_name"])
    for t in tasks:
        for awaiter in t["awaited_by"]:
            node = tree.task(awaiter["task_id"], names.get(awaiter["task_id"], "Unknown"))
            for frame in reversed(awaiter["call_stack"]):
                node = tree.frame_under(node, _frame_label(frame))
            tree.attach(node, tree.task(t["task_id"], t["task_name"]))
    for t in tasks:
        if t["task_id"] not in edges:  # awaits no task: show where it is
            node = tree.task(t["task_id"], t["task_name"])
            for frame in reversed(t["coroutine_stack"]):
                node = tree.frame_under(node, _frame_label(frame))
    trees = []
    for root in tree.roots():
        lines: list[str] = []
        tree.render(root, "", True, lines)
        trees.append(lines)
    return trees


# -- blocked loops and the command -------------------------------------------------------

def print_blocked_loops(snapshot: dict[str, Any], out: TextIO) -> None:
    """Say which loops did not answer, with the stack their thread is running."""
    for loop in snapshot["loops"]:
        if loop.get("blocked"):
            print(f"\nThe event loop in thread {loop['thread_id']} is blocked: it did not "
                  f"answer within {loop['waited']:g} s. Its thread is running:", file=out)
            print(loop["stack"].rstrip("\n"), file=out)


def main(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``ps PID`` / ``pstree PID``: print the tasks of process PID; return the exit status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    if len(argv) != 2 or argv[0] not in ("ps", "pstree"):
        err.write(USAGE)
        return 2
    command, raw_pid = argv
    try:
        pid = int(raw_pid)
        if pid <= 0:
            raise ValueError
    except ValueError:
        err.write(f"batonio {command}: PID must be a positive integer, not {raw_pid!r}\n"
                  f"{USAGE}")
        return 2
    try:
        snapshot = fetch_snapshot(pid)
        if command == "ps":
            print_task_table(snapshot, out)
        else:
            for lines in build_task_tree(snapshot):
                print("\n".join(lines), file=out)
    except CycleError as exc:
        err.write(f"ERROR: {exc}\n")
        return 1
    except InspectError as exc:
        err.write(f"batonio {command}: {exc}\n")
        return 1
    print_blocked_loops(snapshot, out)
    return 0
