"""Fixtures for the mock provider's tests: a real host around a real provider."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
import time_machine

from authplug.config import AuthplugConfig
from authplug.host import Host, build_host
from authplug.models import AuthenticatedUser
from authplug.request import AuthRequest
from authplug.results import Authenticated, AuthenticateResult
from authplug_mock import MockProvider, MockSettings

LOGIN = "/auth/mock/login"
START = 1_700_000_000
"""A fixed 'now' (epoch seconds) for tests that travel in time."""


@pytest.fixture
def anyio_backend() -> str:
    """Run async tests on asyncio only."""
    return "asyncio"


@pytest.fixture
def make_host() -> Iterator[Callable[[MockSettings], Host]]:
    """Build hosts around a MockProvider with the given settings; closed afterwards."""
    hosts: list[Host] = []

    def make(settings: MockSettings) -> Host:
        host = build_host(MockProvider(settings), AuthplugConfig())
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.close()


@pytest.fixture
def host(make_host: Callable[[MockSettings], Host]) -> Host:
    """A host around the mock provider with its default settings."""
    return make_host(MockSettings())


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Freeze time at START; shift it with ``clock.shift(seconds)``."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def login_request(**query: str) -> AuthRequest:
    """A GET of the mock login page with ``query`` parameters, from a loopback client."""
    return AuthRequest(
        method="GET", path=LOGIN, query_string=urlencode(query).encode(), client="127.0.0.1"
    )


async def visit_login(host: Host, **query: str) -> AuthenticateResult:
    """Run the host's login route for ``query``."""
    return await host.hooks.route(host.routes[LOGIN], login_request(**query))


async def log_in(host: Host, user_id: str) -> AuthenticatedUser:
    """Log ``user_id`` in through the login route and return the session user."""
    result = await visit_login(host, user=user_id)
    assert isinstance(result, Authenticated), result
    return result.user
