"""The WSGI host shares a refresh across "processes" too (two hosts, one SQLite coordination file).

Threads of two WSGI hosts — standing for two worker processes, each with its
own provider instance — send one about-to-expire session at once: the
identity provider sees one refresh, every request is answered 200.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from authplug.coordination import open_coordination
from authplug.stores.memory import MemoryUserStore
from authplug.wsgi import AuthMiddleware

werkzeug_test = pytest.importorskip("werkzeug.test")


def _app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [environ["authplug.user"].user_id.encode()]


def test_two_wsgi_hosts_refresh_once(kit: Any, tmp_path: Path) -> None:
    from authplug.host import PluginInfo, build_host

    keys = [kit.make_key()]
    config = kit.make_config(keys)
    providers, apps = [], []
    for _ in range(2):
        provider = kit.TestProvider(kit.Clock(time.time()))
        provider.token_lifetime = 10  # within refresh_margin: every request wants a refresh
        provider.refresh_delay = 0.3
        host = build_host(
            provider,
            config,
            provider_info=PluginInfo(name="test"),
            store=MemoryUserStore(),
            coordination=open_coordination(
                "sqlite", {"path": str(tmp_path / "coordination.sqlite3")}
            ),
        )
        providers.append(provider)
        apps.append((host, AuthMiddleware(_app, host=host)))
    host0 = apps[0][0]
    now = time.time()
    session = host0.sessions.new_session(providers[0].make_user("alice"), now)
    cookie = "; ".join(f"{c.name}={c.value}" for c in host0.sessions.write(session))
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def call(app: Any) -> None:
        environ = werkzeug_test.EnvironBuilder(
            path="/page", headers={"Cookie": cookie, "Accept": "application/json"}
        ).get_environ()
        started: list[str] = []
        barrier.wait()
        body = app(environ, lambda status, headers, exc_info=None: started.append(status))
        b"".join(body)
        statuses.append(int(started[0].split()[0]))

    threads = [threading.Thread(target=call, args=(apps[i % 2][1],)) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for host, _ in apps:
            host.close()
    assert statuses == [200] * 8
    assert sum(p.refresh_calls for p in providers) == 1
