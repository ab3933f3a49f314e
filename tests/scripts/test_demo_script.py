"""``scripts/demo`` as a newcomer runs it: it says what it is doing before the demo is up."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.server
def test_scripts_demo_announces_each_step_then_serves(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHPLUG_", "NOX"))}
    err_path = tmp_path / "stderr"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "demo"), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**env, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the demo's "on http://..." line, after the setup
        steps = err_path.read_text()
        assert "scripts/demo: [1/3]" in steps
        assert "scripts/demo: [2/3]" in steps
        assert "scripts/demo: [3/3] starting the demo" in steps
        assert steps.index("[1/3]") < steps.index("[2/3]") < steps.index("[3/3]")
        assert "nox > " in steps  # the virtualenv work itself is visible too
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, (line, steps)
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{match.group(1)}/auth/mock/login")
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert page.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_scripts_demo_on_a_busy_port_ends_with_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTHPLUG_", "NOX"))}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [str(ROOT / "scripts" / "demo"), "--port", str(port)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    assert done.returncode == 1
    after_setup = done.stderr.split("scripts/demo: [3/3] starting the demo (Ctrl+C stops it)\n")[1]
    assert after_setup.splitlines() == [
        f"authplug demo: port {port} on 127.0.0.1 is already in use (is another demo "
        f"running?); pick another with --port, e.g. --port {port + 1}"
    ]
    assert "Traceback" not in done.stderr
