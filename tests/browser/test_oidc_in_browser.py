"""The OpenID Connect flow in a real Chromium against a certified OpenID Provider
(npm ``oidc-provider``, started from ``tests/interop/oidc_provider.mjs``): a
protected page -> the provider's login form -> its consent form -> back on the
page first asked for; a reload keeps the session; after the access token's
expiry a reload refreshes silently; RP-initiated logout ends the provider's
session too (the next login asks for credentials again).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.config import AuthplugConfig
from authplug.host import build_host
from authplug.stores.memory import MemoryUserStore
from authplug_oauth import OAuthProvider, OAuthSettings

from .conftest import BROWSER_SKIP, _skip_or_fail

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.interop]

INTEROP = Path(__file__).parents[1] / "interop"
CLIENT_ID = "authplug-browser"
CLIENT_SECRET = "browser-secret-made-for-this-test-only"


async def _page(request: Request) -> HTMLResponse:
    user = request.scope["authplug.user"]
    return HTMLResponse(
        f"<!doctype html><title>Private</title><p id=user>{user.user_id}</p>"
        f"<p id=path>{request.url.path}</p>"
    )


async def _signed_out(request: Request) -> PlainTextResponse:
    return PlainTextResponse("signed out")


@dataclass
class Setup:
    """The app (uvicorn on 127.0.0.1) behind the OAuth provider, and the OpenID Provider."""

    app_url: str
    issuer: str
    provider: OAuthProvider
    refreshes: list[int]


@pytest.fixture
def oidc_app() -> Iterator[Setup]:
    import uvicorn

    node = shutil.which("node")
    if node is None or not (INTEROP / "node_modules" / "oidc-provider").is_dir():
        _skip_or_fail(
            BROWSER_SKIP.format(what="Node with tests/interop/node_modules/oidc-provider")
        )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    app_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [f"{app_url}/auth/callback"],
        "post_logout_redirect_uris": [f"{app_url}/signed-out"],
        "access_token_ttl": 30,  # inside refresh_margin: the first reload refreshes
    }
    op = subprocess.Popen(
        [str(node), str(INTEROP / "oidc_provider.mjs"), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=INTEROP,
    )
    host = None
    server = None
    thread = None
    try:
        assert op.stdout is not None
        issuer = json.loads(op.stdout.readline())["issuer"]
        provider = OAuthProvider(
            OAuthSettings.model_validate(
                {
                    "issuer": issuer,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "post_logout_redirect_uri": "/signed-out",
                    "scopes": ["openid", "profile", "email", "offline_access"],
                    "authorization_params": {"prompt": "consent"},
                }
            )
        )
        refreshes: list[int] = []
        original = provider.refresh

        async def counting(user: Any) -> Any:
            result = await original(user)
            refreshes.append(1)
            return result

        provider.refresh = counting  # type: ignore[method-assign]
        host = build_host(
            provider, AuthplugConfig(public_paths=["/signed-out"]), store=MemoryUserStore()
        )
        app = AuthMiddleware(
            Starlette(routes=[Route("/signed-out", _signed_out), Route("/{rest:path}", _page)]),
            host=host,
        )
        server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield Setup(app_url, issuer, provider, refreshes)
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(10)
        sock.close()
        if host is not None:
            host.close()
        op.terminate()
        op.wait(10)
        if op.stdout is not None:
            op.stdout.close()


def _log_in_at_the_provider(page: Page, setup: Setup) -> None:
    """Fill the provider's login form, then its consent form."""
    assert page.url.startswith(setup.issuer)
    page.fill('input[name="login"]', "alice")
    page.fill('input[name="password"]', "any")
    with page.expect_navigation():
        page.click('button[type="submit"]')
    if page.url.startswith(setup.issuer):  # the consent form
        with page.expect_navigation(url=f"{setup.app_url}/**"):
            page.click('button[type="submit"]')


def test_oidc_flow_in_chromium(context: BrowserContext, oidc_app: Setup) -> None:
    page = context.new_page()
    page.goto(f"{oidc_app.app_url}/private/report?x=1")
    _log_in_at_the_provider(page, oidc_app)
    assert urlsplit(page.url).path == "/private/report"
    assert urlsplit(page.url).query == "x=1"
    assert page.inner_text("#user") == "alice"

    # the access token expires within refresh_margin: this reload refreshes silently
    page.reload()
    assert page.inner_text("#user") == "alice"
    assert urlsplit(page.url).path == "/private/report"
    assert oidc_app.refreshes == [1]

    # RP-initiated logout: the core's confirmation form, then the provider's
    page.goto(f"{oidc_app.app_url}/auth/logout")
    with page.expect_navigation():
        page.click('button[type="submit"]')
    if page.url.startswith(oidc_app.issuer):  # the provider asks to confirm
        with page.expect_navigation(url=f"{oidc_app.app_url}/**"):
            page.click('button[autofocus], button[type="submit"]')
    assert urlsplit(page.url).path == "/signed-out"

    # signed out at the provider too: the next login asks for credentials again
    page.goto(f"{oidc_app.app_url}/private")
    assert page.url.startswith(oidc_app.issuer)
    assert page.locator('input[name="login"]').count() == 1
