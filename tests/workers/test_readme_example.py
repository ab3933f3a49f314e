"""The README's "Running many workers" example, run as written against real servers.

Only the hosts change (the README's ``db.internal``/``cache.internal`` become
this test's PostgreSQL and Redis on 127.0.0.1), the port becomes a free one
and four workers become two; the ``pip install`` line is skipped (the test
environment has those packages). Then a user signs in and reads ``/api/me``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    section = README.read_text().split("\n## Running many workers\n", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_readme_example_runs(postgres_server: Any, redis_server: Any, tmp_path: Path) -> None:
    dsn = postgres_server.new_database()
    params = dict(part.split("=", 1) for part in dsn.split())
    pg_url = f"postgresql://{params['user']}@127.0.0.1:{params['port']}/{params['dbname']}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = _example()
    assert "postgresql://app@db.internal/app" in script
    assert "redis://cache.internal:6379/0" in script
    script = (
        script.replace("postgresql://app@db.internal/app", pg_url)
        .replace("redis://cache.internal:6379/0", redis_server.url)
        .replace("--port 8000", f"--port {port}")
        .replace("--workers 4", "--workers 2")
    )
    lines = [line for line in script.splitlines() if not line.startswith("pip install")]
    lines[-1] = "exec " + lines[-1]  # uvicorn replaces the shell: one process group to stop
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env = {k: v for k, v in env.items() if not k.startswith("AUTHPLUG_")}
    log = tmp_path / "example.log"
    with open(log, "wb") as out:
        shell = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        login = None
        deadline = time.monotonic() + 90
        while login is None and time.monotonic() < deadline:
            assert shell.poll() is None, log.read_text()[-3000:]
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/auth/mock/login?user=admin")
            except httpx.HTTPError:
                time.sleep(0.2)
        assert login is not None, log.read_text()[-3000:]
        assert login.status_code == 302
        cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
        me = httpx.get(f"http://127.0.0.1:{port}/api/me", headers={"cookie": cookie})
        assert me.status_code == 200
        assert me.json()["userId"] == "admin"
        output = log.read_text()
        assert "store postgres: schema version 0 -> 3" in output
        assert "authplug check: OK" in output
        assert "coordination: redis " in output
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        try:
            shell.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(shell.pid, signal.SIGKILL)
            shell.wait()
