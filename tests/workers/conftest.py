"""A deployment of many workers on real PostgreSQL and Redis, for the many-workers tests.

``cluster`` starts "machines": ``uvicorn --workers N`` processes serving
``tests/workers/app.py`` on 127.0.0.1, all sharing one PostgreSQL database
(the user store) and one Redis (coordination). Every process is started in
its own process group and killed with it afterwards: nothing is left running.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from authplug.config import AuthplugConfig
from authplug.session import SessionManager
from authplug.session.payload import SessionData, SessionUser

HERE = Path(__file__).parent
_prefixes = itertools.count()


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Machine:
    """One ``uvicorn --workers N`` process group on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Cluster:
    """The shared environment of the machines of one test module."""

    tmp: Path
    env: dict[str, str]
    key: str
    machines: list[Machine] = field(default_factory=list)

    @property
    def counter(self) -> Path:
        return Path(self.env["COUNTING_IDP_FILE"])

    @property
    def hold(self) -> Path:
        return Path(self.env["COUNTING_IDP_HOLD"])

    def refreshes(self) -> list[int]:
        """The pids of every refresh that reached the (counting) identity provider."""
        if not self.counter.exists():
            return []
        return [int(line) for line in self.counter.read_text().split()]

    def start(
        self,
        workers: int,
        *,
        app: str = "app:create_app",
        port: int | None = None,
        **env: str | None,
    ) -> Machine:
        """Start a machine with ``workers`` processes; wait until every worker is up."""
        machine = self.launch(workers, app=app, port=port, **env)
        self.wait_ready(machine, workers)
        return machine

    def launch(
        self,
        workers: int,
        *,
        app: str = "app:create_app",
        port: int | None = None,
        **env: str | None,
    ) -> Machine:
        """Start a machine with ``workers`` processes (call :meth:`wait_ready` next).

        ``app`` is the factory (``module:function`` in this folder); ``port`` one
        chosen beforehand with :func:`free_port` (when the URL must be known first);
        ``env`` adds to the cluster's variables (``None`` removes one).
        """
        port = port if port is not None else free_port()
        log = self.tmp / f"machine-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    app,
                    "--app-dir",
                    str(HERE),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--no-access-log",
                    "--log-level",
                    "info",
                ],
                env={k: v for k, v in {**os.environ, **self.env, **env}.items() if v is not None},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        machine = Machine(process, port, log)
        self.machines.append(machine)
        return machine

    def wait_ready(self, machine: Machine, workers: int) -> None:
        """Wait until ``workers`` workers of ``machine`` finished their start-up."""
        process, log = machine.process, machine.log
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited: {log.read_text()[-3000:]}")
            if log.read_text(errors="replace").count("Application startup complete") >= workers:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"uvicorn workers did not start: {log.read_text()[-3000:]}")
        with httpx.Client(timeout=5) as client:
            assert client.get(f"{machine.url}/health").status_code == 200

    def config(self) -> AuthplugConfig:
        return AuthplugConfig(cookie_keys=[self.key], cookie_secure=False)

    def session_cookie(
        self, *, expires_in: int, user_id: str = "admin", validated_ago: float = 0
    ) -> tuple[SessionData, dict[str, str]]:
        """A sealed session as a login would have made it, its tokens expiring in ``expires_in``."""
        now = time.time()
        user = SessionUser(
            user_id=user_id,
            first_name="Ada",
            last_name="Admin",
            user_type="internal-user",
            roles=["pika:content-admin"],
            features=["instruction", "history"],
            auth_data={
                "access_token": base64.urlsafe_b64encode(os.urandom(24)).decode(),
                "refresh_token": base64.urlsafe_b64encode(os.urandom(24)).decode(),
                "expires_at": str(int(now) + expires_in),
                "refresh_expires_at": str(int(now) + 3600),
            },
        )
        session = SessionData.start(user, now - validated_ago).model_copy(
            update={"last_seen_at": now}
        )
        cookies = SessionManager(self.config()).write(session)
        return session, {c.name: c.value for c in cookies}

    @staticmethod
    def headers(cookies: Mapping[str, str], *, json: bool = True) -> dict[str, str]:
        """Request headers carrying ``cookies`` (asking for JSON answers unless ``json=False``)."""
        out = {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        if json:
            out["accept"] = "application/json"
        return out

    def logout(self, client: httpx.Client, url: str, cookies: Mapping[str, str]) -> httpx.Response:
        """Log out through the core's form: GET it for the token, POST it back."""
        headers = self.headers(cookies, json=False)
        page = client.get(f"{url}/auth/logout", headers=headers)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None, page.text
        return client.post(
            f"{url}/auth/logout", data={"csrf_token": token.group(1)}, headers=headers
        )

    def read_session(self, cookies: Mapping[str, str]) -> SessionData | None:
        """The session a response's cookies carry (None: cleared or absent)."""
        header = "; ".join(f"{k}={v}" for k, v in cookies.items() if v)
        read = SessionManager(self.config()).read([(b"cookie", header.encode())], time.time())
        return read.session


@pytest.fixture(scope="package")
def cluster(
    postgres_server: Any, redis_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Machines sharing one migrated PostgreSQL database and one Redis (module-wide)."""
    from authplug.coordination.postgres import PostgresCoordination
    from authplug.stores.postgres import PostgresUserStore

    dsn = postgres_server.new_database()
    PostgresUserStore.migrate_schema(dsn=dsn)
    PostgresCoordination.migrate_schema(dsn=dsn)
    tmp = tmp_path_factory.mktemp("cluster")
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    env = {
        "AUTHPLUG_COOKIE_KEYS": key,
        "AUTHPLUG_COOKIE_SECURE": "false",
        "AUTHPLUG_PUBLIC_PATHS": "/health",
        "AUTHPLUG_STORE": "postgres",
        "AUTHPLUG_STORE_OPTIONS__DSN": dsn,
        "AUTHPLUG_STORE_OPTIONS__TIMEOUT": "2",
        "AUTHPLUG_COORDINATION": "redis",
        "AUTHPLUG_COORDINATION_OPTIONS__URL": redis_server.url,
        "AUTHPLUG_COORDINATION_OPTIONS__PREFIX": f"cluster{next(_prefixes)}:",
        "AUTHPLUG_COORDINATION_OPTIONS__LEASE_TTL": "3",
        "COUNTING_IDP_FILE": str(tmp / "refreshes"),
        "COUNTING_IDP_HOLD": str(tmp / "hold"),
    }
    made = Cluster(tmp=tmp, env=env, key=key)
    yield made
    for machine in made.machines:
        machine.stop()


Starter = Callable[..., Machine]


@pytest.fixture(scope="package")
def machines(cluster: Cluster) -> tuple[Machine, Machine]:
    """Two "machines" of four uvicorn workers each, sharing PostgreSQL and Redis."""
    a, b = cluster.launch(4), cluster.launch(4)
    cluster.wait_ready(a, 4)
    cluster.wait_ready(b, 4)
    return a, b
