"""A refresh storm against a real OpenID Provider that rotates refresh tokens.

npm ``oidc-provider`` (``tests/interop/oidc_provider.mjs``) runs with
``rotateRefreshToken: true``: each ``refresh_token`` grant consumes the token
it redeems, and redeeming a consumed one is ``invalid_grant`` *and* revokes
the whole grant (reuse detection), which logs the user out everywhere. Its
access tokens live 30 s, inside the core's 60 s ``refresh_margin``, so the
session is due for refresh from the moment it is made; each refresh grant's
answer is held 300 ms so concurrent callers really overlap.

A user signs in through the real authorization-code flow (PKCE, the OP's own
login and consent forms, driven by httpx), then 200 concurrent requests carry
that one cookie to four ``uvicorn`` workers built by :func:`authplug.load`
from ``AUTHPLUG_*`` variables alone (PostgreSQL store; Redis, or one SQLite
file, coordinating). The OP counts the grants it answered (``GET /__grants``).

The companion test runs the same storm with ``coordination = "inprocess"``
and shows what the others prevent: more than one grant, and users logged out.
"""

from __future__ import annotations

import asyncio
import html
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from .conftest import Cluster, Machine, free_port

pytestmark = [pytest.mark.server, pytest.mark.interop]

STORM = 200
CLIENT_ID = "authplug-storm"
CLIENT_SECRET = "storm-secret-made-for-this-test-only"
HTML = {"accept": "text/html"}


def _interop_fixtures() -> Any:
    """``tests/interop/conftest.py``, imported by path (test folders are not packages)."""
    name = "authplug_tests_interop_fixtures"
    module = sys.modules.get(name)
    if module is None:
        path = Path(__file__).parents[1] / "interop" / "conftest.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


oidc_provider = _interop_fixtures().oidc_provider


def _grants(op: Any) -> dict[str, int]:
    """The refresh grants the OP answered so far: ``{"success": n, "error": m}``."""
    counts = httpx.get(f"{op.issuer}/__grants", timeout=10).json()
    found: dict[str, int] = counts.get("refresh_token", {"success": 0, "error": 0})
    return found


def _follow_op(browser: httpx.Client, op: Any, response: httpx.Response) -> httpx.Response:
    """Follow the OP's redirects until they leave it (to the app) or a page shows."""
    while response.is_redirect:
        target = urljoin(str(response.url), response.headers["location"])
        if not target.startswith(op.issuer):
            return response
        response = browser.get(target)
    return response


def _submit(browser: httpx.Client, op: Any, page: httpx.Response, fields: dict[str, str]) -> Any:
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action is not None, page.text[:500]
    url = urljoin(str(page.url), html.unescape(action.group(1)))
    return _follow_op(browser, op, browser.post(url, data=fields))


def sign_in(op: Any, machine: Machine) -> dict[str, str]:
    """The authorization-code flow, as a browser runs it; returns the session cookies."""
    with (
        httpx.Client(base_url=machine.url, timeout=30) as app,
        httpx.Client(timeout=30) as browser,
    ):
        start = app.get("/whoami", headers=HTML)
        assert start.status_code == 302, start.text
        page = _follow_op(browser, op, browser.get(start.headers["location"]))
        assert 'name="login"' in page.text, page.text[:500]
        page = _submit(browser, op, page, {"prompt": "login", "login": "alice", "password": "x"})
        if not page.is_redirect:
            page = _submit(browser, op, page, {"prompt": "consent"})
        assert page.is_redirect, page.text[:500]
        done = app.get(page.headers["location"], headers=HTML)
        assert done.status_code == 302, done.text
        cookies = {name: value for name, value in app.cookies.items() if value}
    assert cookies
    return cookies


async def _storm(url: str, headers: dict[str, str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=STORM, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        return await asyncio.gather(
            *(client.get(f"{url}/whoami", headers=headers) for _ in range(STORM))
        )


Deployment = Callable[..., tuple[Any, Machine]]


@pytest.fixture
def deployment(
    cluster: Cluster, oidc_provider: Callable[[dict[str, Any]], Any]
) -> Iterator[Deployment]:
    """``deploy(coordination=...)``: a rotating OP and 4 workers signing in through it."""
    started: list[Machine] = []

    def deploy(**env: str | None) -> tuple[Any, Machine]:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        op = oidc_provider(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{url}/auth/callback"],
                "access_token_ttl": 30,
                "rotate_refresh_tokens": True,
                "refresh_delay_ms": 300,
            }
        )
        machine = cluster.launch(
            4,
            app="oauth_app:create_app",
            port=port,
            AUTHPLUG_PROVIDER="oauth",
            AUTHPLUG_OAUTH__ISSUER=op.issuer,
            AUTHPLUG_OAUTH__CLIENT_ID=CLIENT_ID,
            AUTHPLUG_OAUTH__CLIENT_SECRET=CLIENT_SECRET,
            AUTHPLUG_OAUTH__REDIRECT_URI=f"{url}/auth/callback",
            AUTHPLUG_OAUTH__SCOPES="openid,profile,email,offline_access",
            AUTHPLUG_OAUTH__AUTHORIZATION_PARAMS='{"prompt": "consent"}',
            **env,
        )
        started.append(machine)
        cluster.wait_ready(machine, 4)
        return op, machine

    yield deploy
    for machine in started:
        machine.stop()


def _shared_backend(name: str, tmp: Path) -> dict[str, str | None]:
    if name == "redis":
        return {}
    return {
        "AUTHPLUG_COORDINATION": "sqlite",
        "AUTHPLUG_COORDINATION_OPTIONS__PATH": str(tmp / "coordination.sqlite3"),
        "AUTHPLUG_COORDINATION_OPTIONS__URL": None,
        "AUTHPLUG_COORDINATION_OPTIONS__PREFIX": None,
    }


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
def test_one_rotating_refresh_reaches_the_op_and_nobody_is_logged_out(
    cluster: Cluster, deployment: Deployment, backend: str, tmp_path: Path
) -> None:
    op, machine = deployment(**_shared_backend(backend, tmp_path))
    cookies = sign_in(op, machine)
    session = cluster.read_session(cookies)
    assert session is not None
    assert _grants(op) == {"success": 0, "error": 0}

    responses = asyncio.run(_storm(machine.url, cluster.headers(cookies)))

    assert [r.status_code for r in responses] == [200] * STORM  # no 401, no login redirect
    assert {r.json()["user"] for r in responses} == {"alice"}
    assert len({r.json()["pid"] for r in responses}) >= 2  # really spread over workers
    assert _grants(op) == {"success": 1, "error": 0}  # exactly one refresh reached the OP
    renewed = [cluster.read_session(dict(r.cookies)) for r in responses if r.cookies]
    assert renewed  # the refreshed session was written back
    assert all(s is not None and s.sid == session.sid for s in renewed)
    tokens = {s.user.auth_data["refresh_token"] for s in renewed if s is not None}
    assert len(tokens) == 1  # every worker answered with the one rotated token
    assert session.user.auth_data["refresh_token"] not in tokens

    # Every cookie the storm handed out works: each is sent once more.
    returned = {
        tuple(sorted((name, value) for name, value in r.cookies.items()))
        for r in responses
        if r.cookies
    }
    later: set[str] = set()
    with httpx.Client(base_url=machine.url, timeout=30) as client:
        for jar in returned:
            again = client.get("/whoami", headers=cluster.headers(dict(jar)))
            assert again.status_code == 200, again.text
            assert again.json()["user"] == "alice"
            if again.cookies:
                reread = cluster.read_session(dict(again.cookies))
                assert reread is not None
                later.add(reread.user.auth_data["refresh_token"])
    # A follow-up may refresh once more (a worker that kept no result of the storm
    # sees tokens inside refresh_margin again): through the same hand-off, once.
    later -= tokens
    assert len(later) <= 1
    assert _grants(op) == {"success": 1 + len(later), "error": 0}
    # The newest refresh token handed out is the live one at the OP: had any been
    # redeemed twice, reuse detection would have revoked the whole grant.
    (live,) = later or tokens
    redeemed = httpx.post(
        f"{op.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": live},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=30,
    )
    assert redeemed.status_code == 200, redeemed.text


def test_without_shared_coordination_the_storm_logs_the_user_out(
    cluster: Cluster, deployment: Deployment
) -> None:
    """The failure the shared backends prevent, shown by the same storm (so the test can fail)."""
    op, machine = deployment(
        AUTHPLUG_COORDINATION="inprocess",
        AUTHPLUG_COORDINATION_OPTIONS__URL=None,
        AUTHPLUG_COORDINATION_OPTIONS__PREFIX=None,
    )
    cookies = sign_in(op, machine)

    responses = asyncio.run(_storm(machine.url, cluster.headers(cookies)))

    grants = _grants(op)
    assert grants["success"] + grants["error"] > 1  # each worker redeemed the token itself
    assert grants["error"] >= 1  # the second redemption of a rotated token: invalid_grant
    assert 401 in {r.status_code for r in responses}  # ...and the user was logged out
