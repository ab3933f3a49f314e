"""authplug's test kit for provider and application authors (a pytest plugin).

Opt in from the ``conftest.py`` at the root of your tests::

    pytest_plugins = ["authplug.testing"]

It is not registered through a ``pytest11`` entry point on purpose: an entry
point would load into *every* pytest run of every environment where the core
is installed (an application's own suite included), import pydantic and
pluggy there, and claim fixture names nobody asked for. Opting in is one
line and keeps the choice with the test suite. (``pip install
'authplug[testing]'`` brings pytest and httpx.)

Fixtures (all prefixed ``authplug_``, none autouse):

* ``authplug_provider`` — **override it**: the provider object under test.
* ``authplug_config_overrides`` — core settings for the host (default ``{}``).
* ``authplug_config`` — a development config with a fresh cookie key.
* ``authplug_extensions`` — extension plugins registered for one test; set
  with ``@pytest.mark.authplug_extensions(plugin, ...)``.
* ``authplug_host`` — a real host around the provider: its own plugin
  manager, a memory store, ephemeral keys.
* ``authplug_client`` — a :class:`HostClient`, parametrized over the ASGI
  and the WSGI host, so every test using it runs through both;
  ``authplug_asgi_client`` / ``authplug_wsgi_client`` for one of them.
* ``authplug_request`` — :class:`RequestSpec`: one request description
  rendered as an ASGI scope, a WSGI environ or an ``AuthRequest``.
* ``authplug_session_cookie`` — ``cookies = authplug_session_cookie(user)``:
  "already signed in as ``user``".
* ``authplug_hook_recorder`` — a :class:`HookRecorder` on the host's plugin
  manager: ``recorder.assert_called("authplug_validate", times=1)``.

And :class:`ProviderContract`, the abstract test class every provider's
suite subclasses (see :mod:`authplug.testing.contract`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.host import Host
from authplug.models import AnyUser
from authplug.testing.clients import HOST_KINDS, HostClient, HostKind
from authplug.testing.contract import ProviderContract
from authplug.testing.flow import MemoryFlow
from authplug.testing.hooks import HookCall, HookRecorder
from authplug.testing.hosts import make_config, make_host, make_key, session_cookies
from authplug.testing.requests import RequestSpec

__all__ = [
    "HOST_KINDS",
    "HookCall",
    "HookRecorder",
    "HostClient",
    "HostKind",
    "MemoryFlow",
    "ProviderContract",
    "RequestSpec",
    "authplug_asgi_client",
    "authplug_client",
    "authplug_config",
    "authplug_config_overrides",
    "authplug_extensions",
    "authplug_hook_recorder",
    "authplug_host",
    "authplug_host_kind",
    "authplug_provider",
    "authplug_request",
    "authplug_session_cookie",
    "authplug_wsgi_client",
    "make_config",
    "make_host",
    "make_key",
    "pytest_configure",
    "session_cookies",
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``authplug_extensions`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        "authplug_extensions(*plugins): extension plugin objects the authplug_host "
        "fixture registers for this test only",
    )


@pytest.fixture
def authplug_provider() -> object:
    """The provider under test: override this fixture in your conftest or test module."""
    pytest.fail(
        "override the authplug_provider fixture to return your provider object",
        pytrace=False,
    )


@pytest.fixture
def authplug_config_overrides() -> dict[str, Any]:
    """Core settings for the test host (override or parametrize; default none)."""
    return {}


@pytest.fixture
def authplug_config(authplug_config_overrides: dict[str, Any]) -> AuthplugConfig:
    """A development config with a fresh cookie key, the memory store and the overrides."""
    return make_config(**authplug_config_overrides)


@pytest.fixture
def authplug_extensions(request: pytest.FixtureRequest) -> list[object]:
    """Extension plugins for this test, from ``@pytest.mark.authplug_extensions(...)``."""
    marker = request.node.get_closest_marker("authplug_extensions")
    return list(marker.args) if marker is not None else []


@pytest.fixture
def authplug_host(
    authplug_provider: object, authplug_config: AuthplugConfig, authplug_extensions: list[object]
) -> Iterator[Host]:
    """A real host around ``authplug_provider``: fresh plugin manager, memory store."""
    host = make_host(authplug_provider, authplug_config, extensions=authplug_extensions)
    yield host
    host.close()


@pytest.fixture(params=HOST_KINDS)
def authplug_host_kind(request: pytest.FixtureRequest) -> HostKind:
    """``"asgi"``, then ``"wsgi"``: tests using it run once through each host."""
    kind: HostKind = request.param
    return kind


@pytest.fixture
def authplug_client(authplug_host: Host, authplug_host_kind: HostKind) -> Iterator[HostClient]:
    """A client over the ASGI host, then (second run) over the WSGI host."""
    with HostClient(authplug_host, authplug_host_kind) as client:
        yield client


@pytest.fixture
def authplug_asgi_client(authplug_host: Host) -> Iterator[HostClient]:
    """A client over the ASGI host only."""
    with HostClient(authplug_host, "asgi") as client:
        yield client


@pytest.fixture
def authplug_wsgi_client(authplug_host: Host) -> Iterator[HostClient]:
    """A client over the WSGI host only."""
    with HostClient(authplug_host, "wsgi") as client:
        yield client


@pytest.fixture
def authplug_request() -> type[RequestSpec]:
    """The request builder: ``authplug_request(path="/x", headers=[...]).asgi_scope()``."""
    return RequestSpec


@pytest.fixture
def authplug_session_cookie(authplug_host: Host) -> Callable[[AnyUser], Mapping[str, str]]:
    """``authplug_session_cookie(user)``: the cookies of a session for ``user``."""
    return lambda user: session_cookies(authplug_host, user)


@pytest.fixture
def authplug_hook_recorder(authplug_host: Host) -> Iterator[HookRecorder]:
    """Every hook call on the host's plugin manager during the test."""
    recorder = HookRecorder(authplug_host.plugin_manager)
    yield recorder
    recorder.close()
