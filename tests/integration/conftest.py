"""Integration fixtures: real libraries (aiohttp, httpx, uvicorn, websockets, anyio) on a loop.

Every test here runs twice, on stdlib asyncio (which proves the test itself) and on batonio;
uvloop is left out, these tests are about batonio running real programs, not about uvloop.
Tests drive the loop the way applications do, through ``asyncio.Runner(loop_factory=...)``
(or anyio's ``backend_options``), and the runner fixture first asserts that the running loop
really is the kind asked for: ``batonio.EventLoop`` on the batonio runs.

Each test is bounded: its coroutine runs under ``asyncio.timeout(TEST_TIMEOUT)``, so a hang in
the loop's networking fails with a traceback instead of waiting for pytest-timeout.

Tests marked ``load`` send 10,000 keep-alive requests; they take about a second each, so
they run with the rest (``pytest tests``, ``make test``); ``-m "not load"`` leaves them out.
The whole directory takes ~25 s per build on the 2-core machine (the TLS tests about 10 s of it).

A library that is not installed skips its tests, except under CI (``CI`` set), where it is an
error: a CI run must not turn green by skipping everything.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from _integ import INTEGRATION_LOOPS, TEST_TIMEOUT, expected_loop_class, require

__all__ = ["arun", "client_ssl", "loop_kind", "server_ssl", "tls_certs"]

T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``load`` marker."""
    config.addinivalue_line(
        "markers", "load: a load test (thousands of requests); deselect with -m 'not load'"
    )


@pytest.fixture(params=INTEGRATION_LOOPS)
def loop_kind(request: pytest.FixtureRequest) -> str:
    """The loop the library runs on (overrides the suite's three-way fixture)."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def arun(
    loop_kind: str, loop_factory: Callable[[], asyncio.AbstractEventLoop]
) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Run a coroutine in ``asyncio.Runner(loop_factory=...)`` after checking the loop's class."""
    expected = expected_loop_class(loop_kind)

    async def checked(coro: Coroutine[Any, Any, T]) -> T:
        loop = asyncio.get_running_loop()
        if not isinstance(loop, expected):
            coro.close()
            raise AssertionError(f"running loop is {loop!r}, not a {expected.__qualname__}")
        async with asyncio.timeout(TEST_TIMEOUT):
            return await coro

    def run(coro: Coroutine[Any, Any, T]) -> T:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(checked(coro))

    return run


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A throw-away CA (trustme) with a certificate for 127.0.0.1 and localhost."""
    trustme = require("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    ca_path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    yield {"ca": ca, "cert": cert, "ca_path": str(ca_path)}


@pytest.fixture
def server_ssl(tls_certs: dict[str, Any]) -> ssl.SSLContext:
    """A server-side TLS context with the test certificate."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_certs["cert"].configure_cert(ctx)
    return ctx


@pytest.fixture
def client_ssl(tls_certs: dict[str, Any]) -> ssl.SSLContext:
    """A client-side TLS context that trusts the test CA."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    tls_certs["ca"].configure_trust(ctx)
    return ctx
