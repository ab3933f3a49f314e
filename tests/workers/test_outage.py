"""PostgreSQL and Redis stopped and restarted under load: the failure policy holds, no 500.

While both are down:

* a session with nothing due keeps working (the hot path touches neither);
* a session whose validation is due gets a 503 naming the store on a
  ``fail_closed`` machine, and keeps working on a ``stay_available`` one;
* a new login gets a 503 naming the backend.

When they come back the same processes serve everything again (no restart),
and what was stored before the outage is still there.
"""

from __future__ import annotations

import html
import itertools
import threading
import time
from collections import Counter
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.server


def _until(check: Any, seconds: float = 40) -> Any:
    """Call ``check`` until it returns a truthy value (bounded); return the last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_backends_down_and_back_under_load(
    cluster: Any, machines: tuple[Any, Any], postgres_server: Any, redis_server: Any
) -> None:
    from authplug.stores.postgres import PostgresUserStore

    a, b = machines
    available = cluster.start(1, AUTHPLUG_FAILURE_POLICY="stay_available")
    _, fresh = cluster.session_cookie(expires_in=3000)
    _, due = cluster.session_cookie(expires_in=3000, validated_ago=600)
    fresh_h, due_h = cluster.headers(fresh), cluster.headers(due)
    login_url = f"{b.url}/auth/mock/login?user=staff"

    with httpx.Client(timeout=30) as client:
        before = client.get(login_url)
        assert before.status_code == 302
        client.cookies.clear()
        assert client.get(f"{a.url}/whoami", headers=due_h).status_code == 200

        statuses: Counter[int] = Counter()
        stop = threading.Event()
        targets = [
            (f"{a.url}/whoami", fresh_h),
            (f"{b.url}/whoami", due_h),
            (login_url, {}),
            (f"{available.url}/whoami", due_h),
        ]

        def load(offset: int) -> None:
            with httpx.Client(timeout=30) as loader:
                for index in itertools.islice(itertools.count(offset), 1500):
                    if stop.is_set():
                        return
                    url, headers = targets[index % len(targets)]
                    statuses[loader.get(url, headers=headers).status_code] += 1
                    loader.cookies.clear()  # only the cookies each target names

        threads = [threading.Thread(target=load, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            postgres_server.stop()
            redis_server.stop()

            assert client.get(f"{a.url}/whoami", headers=fresh_h).status_code == 200
            closed = client.get(f"{a.url}/whoami", headers=due_h)
            assert closed.status_code == 503
            assert "'postgres'" in closed.json()["message"]
            assert client.get(f"{available.url}/whoami", headers=due_h).status_code == 200
            login = client.get(login_url)
            client.cookies.clear()
            assert login.status_code == 503
            named = html.unescape(login.text)
            assert "backend 'redis'" in named or "backend 'postgres'" in named
            set_cookies = login.headers.get_list("set-cookie")
            assert not any(c.startswith("authplug_session.0=") for c in set_cookies)

            redis_server.start()
            postgres_server.start()

            back = _until(lambda: client.get(f"{a.url}/whoami", headers=due_h).status_code == 200)
            assert back, "the due session did not recover"
            relogin = _until(lambda: httpx.get(login_url, timeout=30).status_code == 302)
            assert relogin, "logins did not recover"
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=120)

    assert statuses[500] == 0
    assert set(statuses) <= {200, 302, 503}, statuses
    assert statuses[503] > 0  # the load did run through the outage
    store = PostgresUserStore(dsn=cluster.env["AUTHPLUG_STORE_OPTIONS__DSN"])
    try:
        assert store.get("staff") is not None
    finally:
        store.close()
