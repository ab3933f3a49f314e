"""Many-workers rows: PostgreSQL + Redis on the hot path, refresh hand-off latency, 1 vs 2 workers.

Real servers, started here as the tests start them (``tests/services.py``:
Debian's PostgreSQL and redis-server on 127.0.0.1, throw-away directories,
stopped at the end); the rows are skipped with the reason when they cannot
start.

* **request, postgres store + redis coordination**: an ordinary request (a
  valid session, nothing due) through ``authplug.asgi.AuthMiddleware`` with
  the PostgreSQL store and the Redis backend, against the same request with
  the SQLite store and in-process coordination, interleaved in one run. The
  hot path reads neither, so the target is the same cost (``<= 1.1x``).
* **request, redis revocation catch-up**: the same ordinary request with the
  Redis backend, against the same host whose backend skips
  :meth:`~authplug.coordination.redis.RedisCoordination.catch_up` (the
  zero-timeout look at the subscriber's socket that makes a logout on
  another process refused on the very next request). Target ``<= 1.1x``.
* **refresh hand-off latency**: two "processes" (two backend instances with
  their own connections) refresh one session at once; the holder's refresh
  takes 50 ms. Reported: how long after the holder has its result the
  waiter has it too (median over rounds), per shared backend.
* **1 vs 2 workers**: the demo app under ``uvicorn --workers 1`` and
  ``--workers 2`` (PostgreSQL store, Redis coordination), loaded by ``wrk``
  with a signed-in session; the ratio of their req/s.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import Plan, Row, measure, ratio_row, skip_row

__all__ = ["run"]

ROOT = Path(__file__).resolve().parent.parent
HOLDER_MS = 50.0


def _services() -> Any:
    spec = importlib.util.spec_from_file_location(
        "authplug_bench_services", ROOT / "tests" / "services.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError("tests/services.py is missing")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class _ServicesUnavailableError(Exception):
    pass


def _start(services: Any) -> tuple[Any, Any]:
    """PostgreSQL and Redis, or :class:`_ServicesUnavailableError` naming why not."""
    os.environ.pop("SERVICES_REQUIRED", None)
    import pytest

    try:
        pg = services.start_postgres()
    except pytest.skip.Exception as exc:
        raise _ServicesUnavailableError(str(exc)) from None
    try:
        redis = services.start_redis(Path(tempfile.mkdtemp(prefix="authplug-bench-redis-")))
    except pytest.skip.Exception as exc:
        pg.destroy()
        raise _ServicesUnavailableError(str(exc)) from None
    return pg, redis


# -- the hot path ------------------------------------------------------------------


def _hot_path(plan: Plan, dsn: str, redis_url: str) -> Row:
    from apps import asgi_driver, starlette_app
    from workload import bench_config, make_user, mock_provider

    from authplug.asgi import AuthMiddleware
    from authplug.coordination import open_coordination
    from authplug.host import PluginInfo, build_host
    from authplug.stores.postgres import PostgresUserStore
    from authplug.stores.sqlite import SqliteUserStore

    key = os.urandom(32)
    config = bench_config(key, idle_timeout=24 * 3600, validate_interval=3600)
    tmp = Path(tempfile.mkdtemp(prefix="authplug-bench-sqlite-"))
    PostgresUserStore.migrate_schema(dsn=dsn)
    hosts = {
        "postgres+redis": build_host(
            mock_provider(),
            config,
            provider_info=PluginInfo(name="mock"),
            store=PostgresUserStore(dsn=dsn),
            coordination=open_coordination("redis", {"url": redis_url, "prefix": "bench:"}),
        ),
        "sqlite": build_host(
            mock_provider(),
            config,
            provider_info=PluginInfo(name="mock"),
            store=SqliteUserStore(path=str(tmp / "users.sqlite3")),
        ),
    }
    loop = asyncio.new_event_loop()
    try:
        now = time.time()
        drivers = {}
        for name, host in hosts.items():
            session = host.sessions.new_session(make_user(now), now)
            (cookie,) = host.sessions.write(session)
            headers = [
                (b"host", b"127.0.0.1:8000"),
                (b"accept", b"application/json"),
                (b"cookie", f"{cookie.name}={cookie.value}".encode("latin-1")),
            ]
            run, (status, _) = asgi_driver(
                AuthMiddleware(starlette_app(), host=host), headers, loop
            )
            if status != 200:
                raise RuntimeError(f"{name}: the bench request answered {status}")
            drivers[name] = run
        timings = measure(drivers, plan)
    finally:
        loop.close()
        for host in hosts.values():
            host.close()
    row = ratio_row(
        "request, postgres store + redis coordination",
        "GET /api/me with a valid session through AuthMiddleware (Starlette), PostgreSQL "
        "store, Redis coordination",
        "the same request with the SQLite store, in-process coordination",
        timings["postgres+redis"],
        timings["sqlite"],
        1.1,
    )
    row.headline = True
    return row


def _catch_up_row(plan: Plan, dsn: str, redis_url: str) -> Row:
    from apps import asgi_driver, starlette_app
    from workload import bench_config, make_user, mock_provider

    from authplug.asgi import AuthMiddleware
    from authplug.coordination import open_coordination
    from authplug.host import PluginInfo, build_host
    from authplug.stores.postgres import PostgresUserStore

    key = os.urandom(32)
    config = bench_config(key, idle_timeout=24 * 3600, validate_interval=3600)
    hosts = {}
    for name in ("catch-up", "no catch-up"):
        backend = open_coordination("redis", {"url": redis_url, "prefix": "benchc:"})
        if name == "no catch-up":
            backend.catch_up = lambda: None  # type: ignore[method-assign]
        hosts[name] = build_host(
            mock_provider(),
            config,
            provider_info=PluginInfo(name="mock"),
            store=PostgresUserStore(dsn=dsn),
            coordination=backend,
        )
    loop = asyncio.new_event_loop()
    try:
        now = time.time()
        drivers = {}
        for name, host in hosts.items():
            session = host.sessions.new_session(make_user(now), now)
            (cookie,) = host.sessions.write(session)
            headers = [
                (b"host", b"127.0.0.1:8000"),
                (b"accept", b"application/json"),
                (b"cookie", f"{cookie.name}={cookie.value}".encode("latin-1")),
            ]
            run, (status, _) = asgi_driver(
                AuthMiddleware(starlette_app(), host=host), headers, loop
            )
            if status != 200:
                raise RuntimeError(f"{name}: the bench request answered {status}")
            drivers[name] = run
        timings = measure(drivers, plan)
    finally:
        loop.close()
        for host in hosts.values():
            host.close()
    return ratio_row(
        "request, redis revocation catch-up",
        "GET /api/me with a valid session, Redis coordination: the subscriber's socket "
        "looked at before the session check",
        "the same host with the catch-up skipped",
        timings["catch-up"],
        timings["no catch-up"],
        1.1,
    )


# -- hand-off latency ---------------------------------------------------------------


async def _handoff_round(handoffs: list[Any], session: Any) -> float:
    """Seconds between the holder having its result and the waiter having it."""
    done: dict[str, float] = {}

    async def refresh() -> Any:
        await asyncio.sleep(HOLDER_MS / 1000)
        return session.user.model_copy(update={"auth_data": {"access_token": "new"}})

    async def holder() -> None:
        await handoffs[0].run(session, refresh)
        done["holder"] = time.perf_counter()

    async def waiter() -> None:
        await asyncio.sleep(0.005)
        await handoffs[1].run(session, refresh)
        done["waiter"] = time.perf_counter()

    await asyncio.gather(holder(), waiter())
    return max(0.0, done["waiter"] - done["holder"])


def _handoff_rows(plan: Plan, backends: dict[str, dict[str, Any]]) -> list[Row]:
    import base64

    from authplug.config import AuthplugConfig
    from authplug.coordination import open_coordination
    from authplug.coordination.handoff import RefreshHandOff
    from authplug.session.keyring import KeyRing
    from authplug.session.payload import SessionData, SessionUser

    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    keyring = KeyRing.from_config(AuthplugConfig(cookie_keys=[key]))
    rounds = 5 if plan.quick else 31
    rows = []
    for name, options in backends.items():
        opened = [open_coordination(name, options) for _ in range(2)]
        try:
            handoffs = [
                RefreshHandOff(b, keyring, "authplug_session", asyncio.to_thread) for b in opened
            ]
            samples = []
            for _ in range(rounds):
                user = SessionUser(
                    user_id="ada", user_type="internal-user", auth_data={"access_token": "old"}
                )
                session = SessionData.start(user, time.time())
                samples.append(asyncio.run(_handoff_round(handoffs, session)) * 1000)
        finally:
            for backend in opened:
                backend.close()
        rows.append(
            Row(
                figure=f"refresh hand-off latency ({name})",
                measured=(
                    f"a waiting process has the holder's sealed result, {name} backend "
                    f"(holder's refresh: {HOLDER_MS:g} ms)"
                ),
                baseline="-",
                subject=statistics.median(samples),
                base=None,
                ratio=None,
                target="report",
                passed=None,
                unit="ms",
                note=f"best {min(samples):.1f} ms, worst {max(samples):.1f} ms, {rounds} rounds",
            )
        )
    return rows


# -- 1 vs 2 workers ---------------------------------------------------------------------


def _workers_rows(plan: Plan, dsn: str, redis_url: str) -> list[Row]:
    import base64

    import httpx
    from cases_socket import _free_port, _parse_wrk, ensure_wrk

    wrk = ensure_wrk()
    figure = "throughput, 2 workers vs 1"
    measured = "demo GET /api/me under uvicorn --workers N (PostgreSQL store, Redis coordination)"
    if wrk is None:
        return [skip_row(figure, measured, "1 worker", ">= 1x", "wrk is not installed")]
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    env = {
        **os.environ,
        "AUTHPLUG_COOKIE_KEYS": key,
        "AUTHPLUG_STORE": "postgres",
        "AUTHPLUG_STORE_OPTIONS__DSN": dsn,
        "AUTHPLUG_COORDINATION": "redis",
        "AUTHPLUG_COORDINATION_OPTIONS__URL": redis_url,
        "AUTHPLUG_COORDINATION_OPTIONS__PREFIX": "benchw:",
        "AUTHPLUG_VALIDATE_INTERVAL": "3600",
    }
    seconds = 2 if plan.quick else 8
    results: dict[int, float] = {}
    cwd = tempfile.mkdtemp(prefix="authplug-bench-demo-")
    for workers in (1, 2):
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "authplug.demo.app:create_app",
                "--workers",
                str(workers),
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=cwd,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            login = None
            deadline = time.monotonic() + 60
            while login is None and time.monotonic() < deadline:
                try:
                    login = httpx.get(f"{url}/auth/mock/login?user=admin", timeout=5)
                except httpx.HTTPError:
                    time.sleep(0.2)
            if login is None or login.status_code != 302:
                raise RuntimeError("the demo did not start")
            time.sleep(2)  # every worker up
            cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
            done = subprocess.run(
                [
                    wrk,
                    "-t1",
                    "-c50",
                    f"-d{seconds}s",
                    "--latency",
                    "-H",
                    f"Cookie: {cookie}",
                    "-H",
                    "Accept: application/json",
                    f"{url}/api/me",
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 60,
            )
            results[workers] = _parse_wrk(done.stdout)[0]
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    ratio = results[2] / results[1]
    return [
        Row(
            figure=figure,
            measured=measured,
            baseline="the same with --workers 1",
            subject=results[2],
            base=results[1],
            ratio=ratio,
            target="report (2 cores shared with wrk)",
            passed=None,
            unit="req/s",
            note=f"wrk -t1 -c50 -d{seconds}s on this machine's 2 cores",
        )
    ]


def run(plan: Plan) -> list[Row]:
    """Every many-workers row (skipped with the reason when the servers cannot start)."""
    figures = (
        "request, postgres store + redis coordination",
        "request, redis revocation catch-up",
        "refresh hand-off latency",
        "throughput, 2 workers vs 1",
    )
    services = _services()
    try:
        pg, redis = _start(services)
    except _ServicesUnavailableError as exc:
        return [skip_row(f, "-", "-", "-", str(exc)) for f in figures]
    try:
        dsn = pg.new_database()
        from authplug.coordination.postgres import PostgresCoordination

        PostgresCoordination.migrate_schema(dsn=dsn)
        rows = [_hot_path(plan, dsn, redis.url), _catch_up_row(plan, dsn, redis.url)]
        rows += _handoff_rows(
            plan,
            {
                "redis": {"url": redis.url, "prefix": "benchh:"},
                "postgres": {"dsn": dsn},
                "sqlite": {"path": str(Path(tempfile.mkdtemp()) / "coordination.sqlite3")},
            },
        )
        rows += _workers_rows(plan, dsn, redis.url)
        return rows
    finally:
        redis.stop()
        pg.destroy()
