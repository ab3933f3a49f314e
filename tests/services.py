"""Real PostgreSQL and Redis servers for the tests, started and stopped by fixtures.

Debian's binaries (``/usr/lib/postgresql/*/bin``, ``/usr/bin/redis-server``,
installed by ``scripts/test``) run on 127.0.0.1 on a free port, with a
throw-away data directory under the test's tmp dir, no system service and
nothing left running afterwards. PostgreSQL refuses to run as root, so as
root the cluster is owned and run by the ``postgres`` (or ``nobody``) user.

When a server cannot start, the tests that need it are skipped loudly, or
fail when the run promised them (``SERVICES_REQUIRED=1``, set by ``nox -s
tests``), as the interop tests do with ``INTEROP_REQUIRED``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SKIP = (
    "SERVICES NOT RUN: {what}, so the PostgreSQL/Redis tests were NOT run. "
    "Install Debian's postgresql and redis-server (`scripts/test` does this)."
)
_names = itertools.count()


def skip_or_fail(reason: str) -> None:
    """Skip loudly, or fail when the run promised real services (``SERVICES_REQUIRED=1``)."""
    if os.environ.get("SERVICES_REQUIRED") == "1":
        pytest.fail(reason.replace("SERVICES NOT RUN", "SERVICES REQUIRED BUT NOT RUN"))
    pytest.skip(reason)


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin() -> Path | None:
    """The newest Debian PostgreSQL bin directory (``/usr/local/bin`` may hold stand-ins)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def _run_as() -> list[str]:
    """The command prefix that drops root for PostgreSQL (empty when not root)."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    return []


def _owner() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    return None


@dataclass
class PostgresServer:
    """One throw-away PostgreSQL cluster on 127.0.0.1."""

    bin: Path
    data: Path
    port: int
    prefix: list[str] = field(default_factory=list)

    @property
    def base_dsn(self) -> str:
        """A DSN for the ``postgres`` database as the cluster's superuser ``authplug``."""
        return f"host=127.0.0.1 port={self.port} user=authplug dbname=postgres connect_timeout=3"

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self) -> None:
        """Start (or restart) the server on its port; wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        done = self._ctl("-l", str(self.data / "server.log"), "-o", options, "-w", "start")
        if done.returncode != 0:
            log = (self.data / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {done.stderr[-1000:]} {log}")

    def stop(self) -> None:
        """Stop the server at once (connections are cut, as in a crash or failover)."""
        self._ctl("-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.data.parent, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; returns its DSN."""
        import psycopg

        name = f"t{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.base_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return f"host=127.0.0.1 port={self.port} user=authplug dbname={name} connect_timeout=3"


def start_postgres() -> PostgresServer:
    """Initialise and start a cluster in a new temporary directory, or skip/fail loudly.

    The directory is made with :func:`tempfile.mkdtemp` (not pytest's
    ``tmp_path``, whose parents the ``postgres`` user cannot enter); call
    :meth:`PostgresServer.destroy` to stop the server and remove it.
    """
    bin_dir = _pg_bin()
    if bin_dir is None:
        skip_or_fail(SKIP.format(what="no /usr/lib/postgresql/*/bin/pg_ctl"))
        raise AssertionError("unreachable")
    tmp = Path(tempfile.mkdtemp(prefix="authplug-pg-"))
    data = tmp / "pgdata"
    data.mkdir(mode=0o700)
    owner = _owner()
    if owner is not None:
        os.chown(tmp, *owner)
        os.chown(data, *owner)
    prefix = _run_as()
    init = subprocess.run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "authplug",
            "--auth=trust",
            "--no-sync",
            "--no-instructions",
            "-E",
            "UTF8",
            "--locale=C",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        skip_or_fail(SKIP.format(what=f"initdb failed ({init.stderr.strip()[-300:]})"))
    server = PostgresServer(bin=bin_dir, data=data, port=free_port(), prefix=prefix)
    try:
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        server.destroy()
        skip_or_fail(SKIP.format(what=f"PostgreSQL did not start ({str(exc)[-300:]})"))
    return server


@dataclass
class RedisServer:
    """One throw-away Redis server on 127.0.0.1 (no persistence)."""

    data: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's ``redis://`` URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) the server on its port; wait until it answers PING."""
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data),
                "--daemonize",
                "no",
                "--logfile",
                str(self.data / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("redis-server exited")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        """Kill the server (as a crash would)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


def start_redis(tmp: Path) -> RedisServer:
    """Start a Redis server under ``tmp``, or skip/fail the test loudly."""
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        skip_or_fail(SKIP.format(what="`redis-server` is missing"))
    data = tmp / "redis"
    data.mkdir()
    server = RedisServer(data=data, port=free_port())
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        server.stop()
        skip_or_fail(SKIP.format(what=f"Redis did not start ({exc})"))
    return server


def require_package(module: str, extra: str) -> None:
    """Skip (or fail under ``SERVICES_REQUIRED=1``) when ``authplug[extra]`` is not installed."""
    try:
        __import__(module)
    except ImportError:
        skip_or_fail(
            SKIP.format(what=f"the Python package {module} is missing (authplug[{extra}])")
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster shared by the session's tests (each takes its own database)."""
    require_package("psycopg", "postgres")
    server = start_postgres()
    yield server
    server.destroy()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> str:
    """The DSN of a fresh, empty database on the shared cluster."""
    return postgres_server.new_database()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis server shared by the session's tests (each uses its own key prefix)."""
    require_package("redis", "redis")
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()
