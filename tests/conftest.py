"""Fixtures every test folder shares: a loopback HTTP server that records requests.

Used wherever a test needs a real server on 127.0.0.1 (JWKS endpoints, and
the ``jku``/``x5u`` targets that must never be contacted).

Also the Hypothesis profiles of the property-based (``fuzz``-marked) tests:
``default`` runs a bounded, derandomised number of examples in the normal
test run (the same examples every run, so CI never flakes on a new one);
``fuzz`` (``HYPOTHESIS_PROFILE=fuzz``, what ``nox -s fuzz`` sets) runs many
random examples and keeps failures in ``.hypothesis/`` to replay them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", max_examples=60, deadline=None, derandomize=True, database=None
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "3000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# authplug's own test kit (the authplug_* fixtures), opted into as any provider suite does
pytest_plugins = ["authplug.testing", "pytester"]


@dataclass
class LoopbackServer:
    """A JSON server on 127.0.0.1 that records every request path."""

    documents: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    requests: list[str] = field(default_factory=list)
    redirect_to: str | None = None
    url: str = ""

    def url_for(self, path: str) -> str:
        return f"{self.url}{path}"


@pytest.fixture
def loopback() -> Iterator[Callable[[], LoopbackServer]]:
    """Factory of loopback servers (each in its own thread), shut down after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start() -> LoopbackServer:
        state = LoopbackServer()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                state.requests.append(self.path)
                if state.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", state.redirect_to)
                    self.end_headers()
                    return
                document = state.documents.get(self.path)
                if document is None or state.status != 200:
                    self.send_response(404 if document is None else state.status)
                    self.end_headers()
                    return
                body = document if isinstance(document, bytes) else json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        state.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@contextmanager
def _django_settings(**values: Any) -> Iterator[None]:
    """Django configured (minimal settings, once per process), ``values`` overriding."""
    import django
    from django.conf import settings
    from django.test.utils import override_settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="test-only-" + "x" * 40,
            ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            DATABASES={},
        )
        django.setup()
    with override_settings(**values):
        yield


@pytest.fixture
def django_settings() -> Callable[..., AbstractContextManager[None]]:
    """``with django_settings(ROOT_URLCONF=..., MIDDLEWARE=[...]):`` Django is set up for the block.

    Django can be configured once per process; every test overrides what it needs.
    """
    return _django_settings


def load_by_path(name: str, filename: str) -> ModuleType:
    """``tests/<filename>``, imported once by path under ``name`` (test folders are not packages).

    Later calls return the same module.
    """
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(filename))
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def jose_tokens() -> ModuleType:
    """``tests/jose_tokens.py``: the raw JWS minter the JOSE, JWT and OAuth tests share."""
    return load_by_path("authplug_tests_jose_tokens", "jose_tokens.py")


# tests/services.py: real PostgreSQL and Redis servers
services = load_by_path("authplug_test_services", "services.py")
postgres_server = services.postgres_server
postgres_dsn = services.postgres_dsn
redis_server = services.redis_server
