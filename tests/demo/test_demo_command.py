"""``authplug demo`` as users run it: a subprocess, its one-line errors, a real server."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith("AUTHPLUG_") and k != "DEBUG_AUTH"
    }


def _cli(*args: str, cwd: Path, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"{prelude}\nimport sys\nfrom authplug.cli import main\nsys.exit(main({list(args)!r}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_demo_without_starlette_says_what_to_install(tmp_path: Path) -> None:
    # A None entry in sys.modules makes `import starlette` fail as if it were not installed.
    done = _cli("demo", cwd=tmp_path, prelude="import sys; sys.modules['starlette'] = None")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'authplug[demo]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_without_uvicorn_says_what_to_install(tmp_path: Path) -> None:
    done = _cli("demo", cwd=tmp_path, prelude="import sys; sys.modules['uvicorn'] = None")
    assert done.returncode == 1
    assert "uvicorn is not installed" in done.stderr
    assert "pip install 'authplug[demo]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_on_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _cli("demo", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"authplug demo: port {port} on 127.0.0.1 is already in use (is another demo "
        f"running?); pick another with --port, e.g. --port {port + 1}"
    ]


def test_demo_rejects_a_port_out_of_range(tmp_path: Path) -> None:
    done = _cli("demo", "--port", "70000", cwd=tmp_path)
    assert done.returncode == 2
    assert "70000 is not a port number (0-65535)" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_help_documents_port(tmp_path: Path) -> None:
    done = _cli("demo", "--help", cwd=tmp_path)
    assert "--port PORT" in done.stdout
    assert "0 picks a free one" in done.stdout


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "authplug.cli", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**_env(), "PYTHONUNBUFFERED": "1"},
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        yield f"http://127.0.0.1:{match.group(1)}", proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.server
def test_demo_on_port_zero_serves_and_names_the_port(
    demo_server: tuple[str, subprocess.Popen[str]], tmp_path: Path
) -> None:
    url, _ = demo_server
    deadline = time.monotonic() + 30
    while True:
        try:
            first = httpx.get(url + "/")
            break
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert first.status_code == 302
    assert first.headers["location"].startswith("/auth/mock/login")
    assert (tmp_path / ".authplug-demo" / "users.sqlite3").exists()
