"""Fixtures for interop tests: the npm ``jose`` minter, the npm ``oidc-provider``
OpenID Provider (both skipped loudly when Node or ``tests/interop/node_modules``
is missing, failed under ``INTEROP_REQUIRED=1``) and a loopback JWKS server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
NODE_SKIP = (
    "INTEROP NOT RUN: {what} is missing, so tokens from npm `jose` were NOT checked. "
    "Install Node 20+ and run `npm ci --prefix tests/interop` (`scripts/test` does this)."
)


OIDC_SKIP = (
    "INTEROP NOT RUN: {what} is missing, so the OAuth provider was NOT checked against npm "
    "`oidc-provider`. Install Node 20+ and run `npm ci --prefix tests/interop` (`scripts/test` "
    "does this)."
)


def _skip_or_fail(reason: str) -> None:
    """Skip loudly, or fail when the run promised interop (``INTEROP_REQUIRED=1``, set by nox)."""
    if os.environ.get("INTEROP_REQUIRED") == "1":
        pytest.fail(reason.replace("INTEROP NOT RUN", "INTEROP REQUIRED BUT NOT RUN"))
    pytest.skip(reason)


@pytest.fixture(scope="session")
def node_mint() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Run tests/interop/mint_jwt.mjs with a request; returns its JSON output."""
    node = shutil.which("node")
    if node is None:
        _skip_or_fail(NODE_SKIP.format(what="`node`"))
    if not (HERE / "node_modules" / "jose" / "package.json").is_file():
        _skip_or_fail(NODE_SKIP.format(what="tests/interop/node_modules/jose"))

    def mint(request: dict[str, Any]) -> dict[str, Any]:
        result = subprocess.run(
            [node, str(HERE / "mint_jwt.mjs"), json.dumps(request)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            cwd=HERE,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mint_jwt.mjs failed: {result.stderr[-2000:]}")
        output: dict[str, Any] = json.loads(result.stdout)
        return output

    return mint


class JwksServer:
    """The ``/jwks`` document of a loopback server (``tests/conftest.py``), by attribute."""

    def __init__(self, server: Any) -> None:
        self._server = server
        server.documents["/jwks"] = {"keys": []}

    @property
    def jwks(self) -> Any:
        """The JWKS served at ``url``."""
        return self._server.documents["/jwks"]

    @jwks.setter
    def jwks(self, value: Any) -> None:
        self._server.documents["/jwks"] = value

    @property
    def requests(self) -> list[str]:
        """Every path requested so far."""
        requests: list[str] = self._server.requests
        return requests

    @property
    def url(self) -> str:
        """The JWKS URL."""
        url: str = self._server.url_for("/jwks")
        return url


@pytest.fixture
def jwks_server(loopback: Callable[[], Any]) -> JwksServer:
    """A loopback JWKS server whose document tests replace (rotation)."""
    return JwksServer(loopback())


@dataclass
class OidcProvider:
    """A running ``oidc_provider.mjs`` (npm ``oidc-provider``) on 127.0.0.1."""

    issuer: str
    kid: str
    process: subprocess.Popen[str]

    def rotate(self) -> str:
        """Make the provider sign with a new key (new ``kid``); return the kid."""
        import httpx

        answer = httpx.post(f"{self.issuer}/__rotate", timeout=30).json()
        self.kid = str(answer["kid"])
        return self.kid


@pytest.fixture
def oidc_provider() -> Iterator[Callable[[dict[str, Any]], OidcProvider]]:
    """Start ``tests/interop/oidc_provider.mjs`` with a config; stopped after the test.

    Skipped loudly without Node or ``node_modules/oidc-provider``; a failure under
    ``INTEROP_REQUIRED=1`` (nox sets it when Node is present).
    """
    node = shutil.which("node")
    if node is None:
        _skip_or_fail(OIDC_SKIP.format(what="`node`"))
    if not (HERE / "node_modules" / "oidc-provider" / "package.json").is_file():
        _skip_or_fail(OIDC_SKIP.format(what="tests/interop/node_modules/oidc-provider"))
    started: list[subprocess.Popen[str]] = []

    def start(config: dict[str, Any]) -> OidcProvider:
        process = subprocess.Popen(
            [str(node), str(HERE / "oidc_provider.mjs"), json.dumps(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=HERE,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("oidc_provider.mjs exited before listening")
        ready = json.loads(line)
        return OidcProvider(issuer=ready["issuer"], kid=ready["kid"], process=process)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
