"""Fixtures for interop tests: the npm ``jose`` minter (skipped loudly when Node
or ``tests/interop/node_modules`` is missing) and a loopback JWKS server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
NODE_SKIP = (
    "INTEROP NOT RUN: {what} is missing, so tokens from npm `jose` were NOT checked. "
    "Install Node 20+ and run `npm ci --prefix tests/interop` (`scripts/test` does this)."
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


@dataclass
class JwksServer:
    """A loopback server answering GET /jwks with ``jwks`` and recording requests."""

    jwks: dict[str, Any] = field(default_factory=lambda: {"keys": []})
    requests: list[str] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    state = JwksServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path != "/jwks":
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps(state.jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/jwk-set+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
