"""The async call graph (3.14's asyncio.graph) on stdlib's loop, uvloop and batonio's.

The scenarios follow CPython 3.14's test_asyncio/test_graph.py; the text is checked line by
line against the format 3.14's graph.py defines, with the line numbers of this file found by
marker comments (``# <- name``) so that the test does not break when lines move.
"""
from __future__ import annotations

import asyncio
import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import batonio
from batonio._api import _taskgroups

THIS = Path(__file__).resolve()
TASKGROUPS = Path(_taskgroups.__file__).resolve()


def line_of(marker: str, path: Path = THIS) -> int:
    """The number of the line carrying ``# <- marker`` (or, in another file, the text)."""
    needle = f"# <- {marker}" if path == THIS else marker
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if needle in text:
            return number
    raise LookupError(marker)


def normalise(text: str) -> list[str]:
    """The lines of a rendered graph, with object ids and automatic task numbers masked."""
    text = re.sub(r"id=0x[0-9a-f]+", "id=ID", text)
    return re.sub(r"name='Task-\d+'", "name='Task-N'", text).splitlines()


def shape(graph: Any) -> list[Any]:
    """A graph as [label, [frame kinds and names], [awaiters...]] (as 3.14's test walks it)."""
    fut = graph.future
    if isinstance(fut, asyncio.Task):
        name = fut.get_name()
        label = "T<anon>" if name.startswith("Task-") else f"T<{name}>"
    else:
        label = "F"
    frames = []
    for entry in graph.call_stack:
        flags = entry.frame.f_code.co_flags
        kind = "a" if flags & 0x80 else ("ag" if flags & 0x200 else "s")
        frames.append(f"{kind} {entry.frame.f_code.co_name}")
    awaiters = sorted((shape(g) for g in graph.awaited_by), key=lambda s: s[0])
    return [label, frames, awaiters]


def frame_line(path: Path, line: int, name: str, tag: str = "async ") -> str:
    return f"  |   File {str(path)!r}, line {line}, in {tag}{name}()"


# -- the nested TaskGroups and gather program ------------------------------------------------

class Program:
    """main -> TaskGroup -> branch -> TaskGroup -> worker -> gather(leaf, idle)."""

    def __init__(self) -> None:
        self.text = ""
        self.graph: Any = None
        self.idle_graph: Any = None
        self.tasks: dict[str, Any] = {}

    async def leaf(self) -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        self.tasks["leaf"] = asyncio.current_task()
        self.graph = batonio.capture_call_graph()  # <- capture
        self.text = batonio.format_call_graph()  # <- format
        self.idle_graph = batonio.capture_call_graph(self.tasks["idle"])
        self.tasks["release"].set_result(None)

    async def idle(self) -> None:
        self.tasks["idle"] = asyncio.current_task()
        await self.tasks["release"]  # <- idle-await

    async def worker(self) -> None:
        self.tasks["worker"] = asyncio.current_task()
        await batonio.gather(self.leaf(), self.idle())  # <- gather

    async def branch(self) -> None:
        async with batonio.TaskGroup() as tg:  # <- branch-group
            tg.create_task(self.worker(), name="worker")

    async def main(self) -> None:
        self.tasks["main"] = asyncio.current_task()
        self.tasks["release"] = asyncio.get_running_loop().create_future()
        async with batonio.TaskGroup() as tg:  # <- main-group
            tg.create_task(self.branch(), name="branch")


@pytest.fixture
def program(run: Any) -> Program:
    prog = Program()
    run(prog.main())
    return prog


def test_structure_of_nested_taskgroups_and_gather(program: Program) -> None:
    graph = program.graph
    assert graph.future is program.tasks["leaf"]
    assert shape(graph) == [
        "T<anon>", ["a leaf"], [
            ["T<worker>", ["a worker"], [
                ["T<branch>", ["a __aexit__", "a branch"], [
                    ["T<anon>", ["a __aexit__", "a main"], []],
                ]],
            ]],
        ],
    ]
    worker = graph.awaited_by[0]
    assert worker.future is program.tasks["worker"]
    assert worker.awaited_by[0].awaited_by[0].future is program.tasks["main"]
    assert isinstance(graph.call_stack, tuple) and isinstance(graph.awaited_by, tuple)
    assert all(isinstance(e, batonio.FrameCallGraphEntry) for e in graph.call_stack)
    assert isinstance(graph, batonio.FutureCallGraph)


def test_text_of_nested_taskgroups_and_gather(program: Program) -> None:
    aexit = line_of("await self._on_completed_fut", TASKGROUPS)
    assert normalise(program.text) == [
        "* Task(name='Task-N', id=ID)",
        "  + Call stack:",
        frame_line(THIS, line_of("format"), "Program.leaf"),
        "  + Awaited by:",
        "    * Task(name='worker', id=ID)",
        "      + Call stack:",
        "    " + frame_line(THIS, line_of("gather"), "Program.worker"),
        "      + Awaited by:",
        "        * Task(name='branch', id=ID)",
        "          + Call stack:",
        "        " + frame_line(TASKGROUPS, aexit, "TaskGroup.__aexit__"),
        "        " + frame_line(THIS, line_of("branch-group"), "Program.branch"),
        "          + Awaited by:",
        "            * Task(name='Task-N', id=ID)",
        "              + Call stack:",
        "            " + frame_line(TASKGROUPS, aexit, "TaskGroup.__aexit__"),
        "            " + frame_line(THIS, line_of("main-group"), "Program.main"),
    ]
    assert f"id={id(program.tasks['worker']):#x}" in program.text


def test_suspended_task_stack_is_read_from_its_coroutine(program: Program) -> None:
    idle = program.idle_graph
    assert idle.future is program.tasks["idle"]
    assert shape(idle)[:2] == ["T<anon>", ["a idle"]]
    assert idle.call_stack[0].frame.f_lineno == line_of("idle-await")
    assert [g.future for g in idle.awaited_by] == [program.tasks["worker"]]


def test_depth_skips_frames_of_the_current_task(run: Any) -> None:
    def helper() -> Any:
        return batonio.capture_call_graph(depth=2)

    async def caller() -> Any:
        return helper(), batonio.capture_call_graph()

    skipped, direct = run(caller())
    assert [e.frame.f_code.co_name for e in skipped.call_stack] == ["caller"]
    assert [e.frame.f_code.co_name for e in direct.call_stack] == ["caller"]


def test_limit_keeps_outermost_for_positive_innermost_for_negative(run: Any) -> None:
    async def inner() -> Any:
        return (batonio.capture_call_graph(limit=1), batonio.capture_call_graph(limit=-1),
                batonio.capture_call_graph(limit=0))

    async def outer() -> Any:
        return await inner()

    positive, negative, zero = run(outer())
    assert [e.frame.f_code.co_name for e in positive.call_stack] == ["outer"]
    assert [e.frame.f_code.co_name for e in negative.call_stack] == ["inner"]
    assert zero.call_stack == ()


def test_print_call_graph_writes_the_formatted_text(run: Any) -> None:
    async def main() -> tuple[str, str]:
        buf = io.StringIO()
        batonio.print_call_graph(file=buf)  # <- print
        return buf.getvalue(), batonio.format_call_graph()

    printed, formatted = run(main())
    # print_call_graph's own frame is not part of the graph (gh-156327).
    assert normalise(printed) == ["* Task(name='Task-N', id=ID)", "  + Call stack:",
                                  frame_line(THIS, line_of("print"), "test_print_call_graph_"
                                             "writes_the_formatted_text.<locals>.main")]
    assert printed.endswith("\n") and not formatted.endswith("\n")


def test_a_future_awaited_by_two_tasks(run: Any) -> None:
    async def a2(fut: Any) -> None:
        await fut

    async def a1(fut: Any) -> None:
        await a2(fut)

    async def b1(fut: Any) -> None:
        await fut

    async def main() -> tuple[Any, str]:
        fut = asyncio.get_running_loop().create_future()
        async with batonio.TaskGroup() as g:
            g.create_task(a1(fut), name="task A")
            g.create_task(b1(fut), name="task B")
            for _ in range(5):
                await asyncio.sleep(0)
            graph = batonio.capture_call_graph(fut)
            text = batonio.format_call_graph(fut)
            fut.set_result(None)
        return graph, text

    graph, text = run(main())
    assert shape(graph) == ["F", [], [
        ["T<task A>", ["a a2", "a a1"], [["T<anon>", ["a main"], []]]],
        ["T<task B>", ["a b1"], [["T<anon>", ["a main"], []]]],
    ]]
    assert text.startswith("* Future(id=")


def test_shield_and_wait_lead_to_the_task_that_waits(run: Any) -> None:
    seen: dict[str, Any] = {}

    async def child(key: str) -> None:
        await asyncio.sleep(0)
        seen[key] = shape(batonio.capture_call_graph())

    async def main() -> None:
        await batonio.shield(child("shield"))
        await batonio.wait([asyncio.ensure_future(child("wait"))])
        await batonio.wait_for(child("wait_for"), 5)

    run(main())
    for key in ("shield", "wait"):
        label, stack, awaiters = seen[key]
        assert (label, stack, len(awaiters)) == ("T<anon>", ["a child"], 1), key
        assert awaiters[0][1][-1] == "a main", key
    # wait_for on 3.12+ awaits its argument in the calling task itself.
    assert seen["wait_for"][0] == "T<anon>"


def test_declared_edges_are_added_and_discarded(run: Any) -> None:
    async def main() -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        fut, waiter = loop.create_future(), loop.create_future()
        batonio.future_add_to_awaited_by(fut, waiter)
        batonio.future_add_to_awaited_by(fut, waiter)  # recorded once
        with_edge = batonio.capture_call_graph(fut)
        batonio.future_discard_from_awaited_by(fut, waiter)
        batonio.future_add_to_awaited_by(fut, "not a future")  # no effect, as in 3.14
        return with_edge, batonio.capture_call_graph(fut)

    with_edge, without = run(main())
    assert shape(with_edge) == ["F", [], [["F", [], []]]]
    assert without.awaited_by == ()


def test_a_cycle_of_awaiters_does_not_loop_forever(run: Any) -> None:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        first, second = loop.create_future(), loop.create_future()
        batonio.future_add_to_awaited_by(first, second)
        batonio.future_add_to_awaited_by(second, first)
        graph = batonio.capture_call_graph(first)
        batonio.future_discard_from_awaited_by(first, second)
        batonio.future_discard_from_awaited_by(second, first)
        return graph

    assert shape(run(main())) == ["F", [], [["F", [], []]]]


def test_no_current_task_gives_none_and_empty_text(run: Any) -> None:
    async def main() -> tuple[Any, str]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.call_soon(lambda: done.set_result(
            (batonio.capture_call_graph(), batonio.format_call_graph())))
        return await done  # type: ignore[no-any-return]

    assert run(main()) == (None, "")


def test_bad_input() -> None:
    with pytest.raises(RuntimeError, match="outside of a running event loop"):
        batonio.capture_call_graph()
    with pytest.raises(TypeError, match="does not appear to be compatible with asyncio.Future"):
        batonio.capture_call_graph(object())
    with pytest.raises(TypeError):
        batonio.capture_call_graph(None, None)  # type: ignore[misc]  # future is positional-only


@pytest.mark.skipif(sys.version_info < (3, 14), reason="3.14 has asyncio's own")
def test_on_314_the_names_are_asyncios() -> None:
    assert batonio.capture_call_graph is asyncio.capture_call_graph  # type: ignore[attr-defined]
