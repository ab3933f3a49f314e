"""Process-wide state belongs to the Host (issue #9, item 3).

Two middlewares over one host (an application and a sub-application mounted
with the same host; an ASGI and a WSGI host) share the revocation map, the
logout form's token keys, the tracer, the error answers and the
single-flight groups: a logout through one refuses the old cookie at once
through the other, without waiting for a validation to reach the store.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from authplug import asgi, wsgi
from authplug.host import Host

pytestmark = pytest.mark.anyio

SESSION = "authplug_session"


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match is not None, page
    return match.group(1)


def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [environ["authplug.user"].user_id.encode()]


@pytest.fixture
def shared(host: Host, clock: Any, app_factory: Any) -> tuple[Any, Any, Any]:
    """An app, a sub-app mounted at /sub and a WSGI app: three middlewares, one host."""
    sub = asgi.AuthMiddleware(app_factory(), host=host, clock=clock)
    outer = asgi.AuthMiddleware(
        Starlette(routes=[Mount("/sub", app=sub), Mount("/", app=app_factory())]),
        host=host,
        clock=clock,
    )
    flask_like = wsgi.AuthMiddleware(_wsgi_app, host=host, clock=clock)
    return outer, sub, flask_like


@pytest.fixture
async def outer_client(shared: tuple[Any, Any, Any]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=shared[0])
    async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
        yield c


async def test_every_middleware_over_one_host_shares_its_state(
    host: Host, shared: tuple[Any, Any, Any]
) -> None:
    outer, sub, flask_like = shared
    lifecycles = [m.lifecycle for m in (outer, sub, flask_like)]
    assert all(lc.revocation is host.revocation for lc in lifecycles)
    assert all(lc.tracer is host.tracer for lc in lifecycles)
    assert outer.lifecycle._refresh_flight is sub.lifecycle._refresh_flight
    flask_like.close()


async def test_a_logout_in_one_middleware_is_refused_at_once_by_the_others(
    outer_client: httpx.AsyncClient,
    shared: tuple[Any, Any, Any],
    store: Any,
    kit: ModuleType,
) -> None:
    _outer, _sub, flask_like = shared
    await kit.login(outer_client, "alice")
    cookie = outer_client.cookies[f"{SESSION}.0"]
    header = {"cookie": f"{SESSION}.0={cookie}", "accept": "text/html"}
    wsgi_client = httpx.Client(
        transport=httpx.WSGITransport(app=flask_like), base_url="http://app.example"
    )
    try:
        assert (await outer_client.get("/sub/page")).json()["user"] == "alice"
        assert wsgi_client.get("/page", headers=header).text == "alice"

        # Log out through the mounted sub-application.
        token = _token((await outer_client.get("/sub/auth/logout")).text)
        done = await outer_client.post("/sub/auth/logout", data={"csrf_token": token})
        assert done.status_code == 303
        checks = store.revocation_checks

        # The old cookie, replayed at once (no validation due), on every middleware.
        outer_client.cookies.clear()
        for path in ("/page", "/sub/page"):
            replay = await outer_client.get(path, headers=header)
            assert replay.status_code == 302, path
            assert replay.headers["location"].startswith(("/auth/test/login", "/sub/auth/"))
        replayed = wsgi_client.get("/page", headers=header)
        assert replayed.status_code == 302
        assert store.revocation_checks == checks  # refused from the shared map, not the store
    finally:
        wsgi_client.close()
        flask_like.close()


async def test_a_logout_form_from_one_middleware_is_accepted_by_another(
    outer_client: httpx.AsyncClient, shared: tuple[Any, Any, Any], events: Any, kit: ModuleType
) -> None:
    """The logout token keys are one per host (random per process in development)."""
    await kit.login(outer_client, "alice")
    token = _token((await outer_client.get("/auth/logout")).text)
    done = await outer_client.post("/sub/auth/logout", data={"csrf_token": token})
    assert done.status_code == 303
    assert events.logged_out == ["alice"]
    shared[2].close()
