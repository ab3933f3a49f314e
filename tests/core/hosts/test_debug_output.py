"""``AUTHPLUG_DEBUG=1`` under a real ``uvicorn module:app`` subprocess prints its traces.

uvicorn configures its own loggers only; an app that does not configure
logging used to get no debug output at all.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.server

APP = """
import logging
import authplug
import authplug.asgi
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

if {configure_logging!r}:
    logging.basicConfig(filename={log_file!r}, level=logging.DEBUG)


async def home(request):
    return PlainTextResponse("hello")


app = authplug.asgi.AuthMiddleware(
    Starlette(routes=[Route("/{{rest:path}}", home)]),
    host=authplug.load(provider="mock", settings={{"store": "memory"}}),
)
"""


class Server:
    """A uvicorn subprocess on 127.0.0.1, port 0; its stderr lines arrive on a queue."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "debugapp:app", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        found = self.wait_for(r"Uvicorn running on http://127\.0\.0\.1:\d+")
        port = found.split("127.0.0.1:")[1].split()[0]
        self.url = f"http://127.0.0.1:{port}"

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.seen)}")

    def drain(self, seconds: float) -> list[str]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.seen.append(self.lines.get(timeout=0.05))
            except queue.Empty:
                continue
        return self.seen

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("AUTHPLUG_") and k != "DEBUG_AUTH"
    }

    def run(debug: bool, configure_logging: bool = False) -> Server:
        (tmp_path / "debugapp.py").write_text(
            APP.format(configure_logging=configure_logging, log_file=str(tmp_path / "app.log"))
        )
        env = {**base, "PYTHONPATH": str(tmp_path)}
        if debug:
            env["AUTHPLUG_DEBUG"] = "1"
        server = Server(tmp_path, env)
        servers.append(server)
        return server

    yield run
    for server in servers:
        server.stop()


def test_debug_traces_reach_stderr_when_the_app_configures_no_logging(
    start: Callable[..., Server],
) -> None:
    server = start(debug=True)
    response = httpx.get(server.url + "/inbox?token=hunter2", follow_redirects=False)
    assert response.status_code == 302
    line = server.wait_for(r"authplug\.debug: authplug request /inbox decided in")
    assert "DEBUG" in line
    assert "hunter2" not in "".join(server.drain(0.3))


def test_no_debug_output_without_debug(start: Callable[..., Server]) -> None:
    server = start(debug=False)
    assert httpx.get(server.url + "/inbox").status_code == 302
    assert not any("authplug request" in line for line in server.drain(1.0))


def test_an_app_that_configured_logging_gets_no_extra_handler(
    start: Callable[..., Server], tmp_path: Path
) -> None:
    server = start(debug=True, configure_logging=True)
    assert httpx.get(server.url + "/inbox").status_code == 302
    deadline = time.monotonic() + 30
    log = tmp_path / "app.log"
    while "authplug request /inbox decided" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the app's own handler got no debug trace"
        time.sleep(0.05)
    assert not any("authplug.debug" in line for line in server.drain(0.5))
