"""The OAuth provider against a certified OpenID Provider (npm ``oidc-provider``).

The whole flow through the authplug host, driven with httpx like a browser:
protected page -> authorization -> the provider's own login form -> its
consent form -> callback -> session; then UserInfo's claims in the user,
refresh after the access token's expiry, key rotation (a new ``kid``: the next
login still verifies), ``form_post``, and RP-initiated logout.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.config import AuthplugConfig
from authplug.host import build_host
from authplug.stores.memory import MemoryUserStore
from authplug_oauth import OAuthProvider, OAuthSettings

pytestmark = [pytest.mark.interop, pytest.mark.anyio]

APP = "https://app.test"
CLIENT_ID = "authplug-interop"
CLIENT_SECRET = "interop-secret-made-for-this-test-only"
HTML = {"accept": "text/html"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _whoami(request: Request) -> JSONResponse:
    user = request.scope["authplug.user"]
    return JSONResponse(
        {
            "user": user.user_id,
            "first": user.first_name,
            "type": user.user_type,
            "roles": list(user.roles),
        }
    )


@dataclass
class Flow:
    """The app behind the host and a 'browser' for the OpenID Provider."""

    op: Any
    app: httpx.AsyncClient
    browser: httpx.AsyncClient
    store: MemoryUserStore
    provider: OAuthProvider

    async def follow_op(self, url: str) -> httpx.Response:
        """Follow the OP's redirects until they leave it (the callback) or a page shows."""
        response = await self.browser.get(url)
        while response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if not target.startswith(self.op.issuer):
                return response
            response = await self.browser.get(target)
        return response

    async def submit(self, page: httpx.Response, fields: dict[str, str]) -> httpx.Response:
        """Submit the interaction form on ``page`` with ``fields``; follow the OP's redirects."""
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
        assert action is not None, page.text[:500]
        url = urljoin(str(page.url), html.unescape(action.group(1)))
        response = await self.browser.post(url, data=fields)
        while response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if not target.startswith(self.op.issuer):
                return response
            response = await self.browser.get(target)
        return response

    async def login(self, path: str = "/private") -> httpx.Response:
        """Protected page -> login form -> consent -> the redirect back to the app."""
        start = await self.app.get(path, headers=HTML)
        assert start.status_code == 302, start.text
        page = await self.follow_op(start.headers["location"])
        if page.is_redirect:  # already signed in at the OP with consent given
            return page
        assert 'name="login"' in page.text, page.text[:500]
        page = await self.submit(page, {"prompt": "login", "login": "alice", "password": "x"})
        if not page.is_redirect:
            assert "consent" in page.text.lower() or "authorize" in page.text.lower()
            page = await self.submit(page, {"prompt": "consent"})
        return page

    async def back_to_app(self, redirect: httpx.Response) -> httpx.Response:
        """Deliver the OP's redirect (or auto-submitted form_post) to the app's callback."""
        if redirect.is_redirect:
            return await self.app.get(redirect.headers["location"], headers=HTML)
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', redirect.text)
        )
        fields = {k: html.unescape(v) for k, v in fields.items()}
        action = re.search(r'<form[^>]*action="([^"]+)"', redirect.text)
        assert action is not None, redirect.text[:500]
        return await self.app.post(html.unescape(action.group(1)), data=fields, headers=HTML)


@pytest.fixture
async def make_flow(
    oidc_provider: Callable[[dict[str, Any]], Any],
) -> AsyncIterator[Callable[..., Flow]]:
    made: list[Flow] = []
    hosts: list[Any] = []

    def make(*, access_token_ttl: int = 3600, **overrides: Any) -> Flow:
        op = oidc_provider(
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{APP}/auth/callback"],
                "post_logout_redirect_uris": [f"{APP}/signed-out"],
                "access_token_ttl": access_token_ttl,
            }
        )
        values: dict[str, Any] = {
            "issuer": op.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uri": f"{APP}/auth/callback",
            "post_logout_redirect_uri": f"{APP}/signed-out",
            "scopes": ["openid", "profile", "email", "groups", "offline_access"],
            "authorization_params": {"prompt": "consent"},
            "jwks_refetch_interval": 1,
            "claims": {"roles": "groups", "internal_email_domains": ["corp.example"]},
        }
        values.update(overrides)
        provider = OAuthProvider(OAuthSettings.model_validate(values))
        store = MemoryUserStore()
        host = build_host(provider, AuthplugConfig(public_paths=["/signed-out"]), store=store)
        hosts.append(host)
        app = AuthMiddleware(Starlette(routes=[Route("/{rest:path}", _whoami)]), host=host)
        flow = Flow(
            op=op,
            app=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP),
            browser=httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)),
            store=store,
            provider=provider,
        )
        made.append(flow)
        return flow

    yield make
    for flow in made:
        await flow.app.aclose()
        await flow.browser.aclose()
    for host in hosts:
        host.close()


async def test_full_login_userinfo_and_session(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow()
    redirect = await flow.login("/private/page?x=1")
    callback = redirect.headers["location"]
    assert callback.startswith(f"{APP}/auth/callback?")
    assert parse_qs(urlsplit(callback).query)["iss"] == [flow.op.issuer]
    done = await flow.back_to_app(redirect)
    assert done.status_code == 302, done.text
    assert done.headers["location"] == "/private/page?x=1"
    me = (await flow.app.get("/private/page?x=1")).json()
    assert me == {"user": "alice", "first": "Alice", "type": "internal-user", "roles": ["staff"]}
    assert len(flow.store) == 1


async def test_refresh_after_the_access_token_expires(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow(access_token_ttl=30)  # inside the core's refresh_margin: refreshed at once
    await flow.back_to_app(await flow.login())
    refreshed: list[dict[str, str]] = []
    original = flow.provider.refresh

    async def spy(user: Any) -> Any:
        result = await original(user)
        refreshed.append(dict(result.auth_data or {}))
        return result

    flow.provider.refresh = spy  # type: ignore[method-assign]
    page = await flow.app.get("/private")
    assert page.status_code == 200
    assert page.json()["user"] == "alice"
    (tokens,) = refreshed  # exactly one refresh, answered by the OP
    assert "refresh_retry_at" not in tokens  # not the unreachable-server fallback
    assert tokens["access_token"]
    assert tokens["refresh_token"]


async def test_key_rotation_next_login_verifies(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow()
    await flow.back_to_app(await flow.login())
    old_kid = flow.op.kid
    new_kid = flow.op.rotate()
    assert new_kid != old_kid
    time.sleep(1.1)  # past jwks_refetch_interval (1 s): an unknown kid may refetch
    flow.app.cookies.clear()
    flow.browser.cookies.clear()
    done = await flow.back_to_app(await flow.login())
    assert done.status_code == 302, done.text
    assert (await flow.app.get("/private")).json()["user"] == "alice"


async def test_form_post(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow(response_mode="form_post")
    redirect = await flow.login()
    assert not redirect.is_redirect  # the OP answers with an auto-submitting form
    done = await flow.back_to_app(redirect)
    assert done.status_code == 302, done.text
    assert (await flow.app.get("/private")).json()["user"] == "alice"


async def test_rp_initiated_logout(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow()
    await flow.back_to_app(await flow.login())
    form = await flow.app.get("/auth/logout")
    name, value = re.search(r'name="([^"]+)" value="([^"]+)"', form.text).groups()  # type: ignore[union-attr]
    out = await flow.app.post("/auth/logout", data={name: value})
    assert out.status_code == 303
    end_session = out.headers["location"]
    assert end_session.startswith(flow.op.issuer)
    assert "id_token_hint=" in end_session
    # the OP asks to confirm; confirm like a user would
    page = await flow.follow_op(end_session)
    if not page.is_redirect:
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        fields["logout"] = "yes"
        page = await flow.submit(page, fields)
    assert page.is_redirect
    assert page.headers["location"].startswith(f"{APP}/signed-out")
    # signed out locally, and at the OP: the next login asks for credentials again
    again = await flow.app.get("/private", headers=HTML)
    assert again.status_code == 302
    login_page = await flow.follow_op(again.headers["location"])
    assert 'name="login"' in login_page.text
