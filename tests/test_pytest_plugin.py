"""The pytest plugin (batonio only), driven through pytester as a user's suite would be."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

# Imported before the in-process pytester runs: they restore sys.modules afterwards, and
# batonio's compiled modules must not be imported a second time (3.12+ refuses).
import batonio  # noqa: F401

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parent.parent


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "batonio", "-p", "no:cacheprovider", *args)


def test_the_entry_point_is_declared() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"batonio": "batonio.pytest_plugin"}


def test_marked_tests_run_on_batonio_and_others_are_left_alone(pytester: pytest.Pytester
                                                               ) -> None:
    pytester.makepyfile("""
        import asyncio, pytest, batonio

        @pytest.mark.batonio
        async def test_marked():
            assert type(asyncio.get_running_loop()) is batonio.EventLoop
            await asyncio.sleep(0)

        async def test_unmarked():
            pass

        def test_sync():
            pass
    """)
    result = run(pytester)
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == 2
    result.stdout.no_fnmatch_line("*test_unmarked PASSED*")
    assert outcomes.get("failed", 0) + outcomes.get("skipped", 0) == 1  # pytest's own verdict


def test_auto_mode_runs_every_async_test_but_leaves_anyio_ones(pytester: pytest.Pytester
                                                               ) -> None:
    pytest.importorskip("anyio")
    pytester.makeini("[pytest]\nbatonio_mode = auto\n")
    pytester.makepyfile("""
        import asyncio, pytest, batonio

        async def test_unmarked():
            assert type(asyncio.get_running_loop()) is batonio.EventLoop

        @pytest.mark.anyio
        async def test_for_anyio():
            assert type(asyncio.get_running_loop()) is not batonio.EventLoop
    """)
    result = run(pytester, "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_unmarked PASSED*", "*test_for_anyio*asyncio*PASSED*"])


def test_virtual_time_and_chaos_seed_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import asyncio, time, pytest

        @pytest.mark.batonio(virtual_time=True)
        async def test_an_hour_in_no_time():
            loop = asyncio.get_running_loop()
            start = time.monotonic()
            await asyncio.sleep(3600)
            assert loop.time() == 3600.0
            assert time.monotonic() - start < 5

        @pytest.mark.batonio(chaos_seed=7)
        async def test_seeded():
            assert "7" in repr(asyncio.get_running_loop())
    """)
    run(pytester).assert_outcomes(passed=2)


RACE = """
    import asyncio, pytest

    @pytest.mark.batonio(virtual_time=True)
    async def test_race():
        order = []

        async def worker(name):
            await asyncio.sleep(1)
            order.append(name)

        await asyncio.gather(worker("a"), worker("b"))
        assert order == ["a", "b"]
"""


def test_chaos_seeds_catch_a_race_and_name_the_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_race=RACE)
    run(pytester).assert_outcomes(passed=1)  # without chaos: always passes
    result = run(pytester, "--batonio-chaos-seeds", "20")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 1 and outcomes["failed"] + outcomes["passed"] == 20
    text = result.stdout.str()
    seeds = re.findall(r"failed with chaos seed (\d+); reproduce with:", text)
    assert len(seeds) == outcomes["failed"]
    command = f"-m pytest test_race.py::test_race -p batonio --batonio-chaos-seed {seeds[0]}"
    assert command in text
    again = run(pytester, "test_race.py::test_race", "--batonio-chaos-seed", seeds[0])
    again.assert_outcomes(failed=1)
    assert f"failed with chaos seed {seeds[0]}" in again.stdout.str()


def test_async_fixtures_share_the_test_loop(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import asyncio, pytest

        EVENTS = []

        @pytest.fixture
        async def value():
            await asyncio.sleep(0)
            return asyncio.get_running_loop()

        @pytest.fixture
        async def resource(value):
            EVENTS.append("setup")
            yield value
            await asyncio.sleep(0)
            assert asyncio.get_running_loop() is value
            EVENTS.append("teardown")

        @pytest.mark.batonio
        async def test_uses(resource, value):
            assert asyncio.get_running_loop() is resource is value

        def test_after():
            assert EVENTS == ["setup", "teardown"]
    """)
    run(pytester).assert_outcomes(passed=2)


def test_leak_check_names_the_culprits(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import asyncio, os, socket, pytest

        @pytest.mark.batonio
        async def test_pending_task():
            asyncio.get_running_loop().create_task(asyncio.sleep(100), name="forgotten")

        @pytest.mark.batonio
        async def test_open_transport():
            a, b = socket.socketpair()
            test_open_transport.peer = b
            await asyncio.get_running_loop().create_connection(asyncio.Protocol, sock=a)

        @pytest.mark.batonio
        async def test_open_server():
            await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)

        @pytest.mark.batonio
        async def test_open_fd():
            test_open_fd.fd = os.open(os.devnull, os.O_RDONLY)

        @pytest.mark.batonio(check_leaks=False)
        async def test_not_checked():
            test_not_checked.fd = os.open(os.devnull, os.O_RDONLY)

        def test_cleanup():
            test_open_transport.peer.close()
            os.close(test_open_fd.fd)
            os.close(test_not_checked.fd)
    """)
    result = run(pytester)
    result.assert_outcomes(passed=6, errors=4)  # every test passes; 4 fail their teardown
    text = result.stdout.str()
    assert re.search(r"pending task <Task pending name='forgotten' .*waiting at", text)
    assert "unclosed transport <" in text
    assert re.search(r"server <.*> not closed \(listening on fd \d+\)", text)
    assert re.search(r"fd \d+ \(/dev/null\) opened during the test and not closed", text)
    # Only the ERRORS section: the short summary repeats the message when the terminal is wide.
    errors_section = text.split("short test summary info")[0]
    assert errors_section.count("batonio leak check: the test left") == 4


@pytest.mark.parametrize(("marker", "message"), [
    ("batonio(1)", "batonio marker takes keyword arguments only"),
    ("batonio(speed=2)", "unknown batonio marker option(s) speed"),
    ("batonio(chaos_seed='x')", "chaos_seed must be an int, got 'x'"),
])
def test_bad_marker_options(pytester: pytest.Pytester, marker: str, message: str) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.{marker}
        async def test_x():
            pass
    """)
    result = run(pytester)
    assert result.ret != 0
    assert message in result.stderr.str() + result.stdout.str()


def test_bad_mode_and_seed_count(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = run(pytester, "--batonio-chaos-seeds", "0")
    assert result.ret != 0
    assert "--batonio-chaos-seeds must be at least 1, not 0" in result.stderr.str()
    pytester.makeini("[pytest]\nbatonio_mode = sometimes\n")
    result = run(pytester)
    assert result.ret != 0
    assert "batonio_mode must be 'strict' or 'auto', not 'sometimes'" in result.stderr.str()


def test_async_fixture_wider_than_function_scope_is_refused(pytester: pytest.Pytester
                                                            ) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.fixture(scope="module")
        async def shared():
            return 1

        @pytest.mark.batonio
        async def test_x(shared):
            pass
    """)
    result = run(pytester)
    assert "async fixture 'shared' has scope 'module'" in result.stdout.str()
    assert result.ret != 0


def test_plugin_coexists_with_stdlib_loop_tests_in_the_same_run(pytester: pytest.Pytester
                                                                 ) -> None:
    pytester.makepyfile("""
        import asyncio, pytest

        def test_plain_asyncio_run():
            assert asyncio.run(asyncio.sleep(0, 5)) == 5

        @pytest.mark.batonio
        async def test_ours():
            await asyncio.sleep(0)
    """)
    run(pytester).assert_outcomes(passed=2)
