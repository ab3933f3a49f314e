"""The demo signs in through an OpenID Provider when the configuration names ``oauth``.

Issue #11's "done when": install the core and the OAuth provider, point
``issuer``/``client_id``/``client_secret`` at an OIDC server, and the demo
(`authplug demo`, :func:`authplug.demo.create_app`) logs in through it. The
configuration comes only from ``AUTHPLUG_*`` variables, as an operator sets it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from authplug.demo import create_app, demo_host

pytestmark = pytest.mark.anyio


async def test_the_demo_logs_in_through_the_configured_oidc_server(
    idp: Any, kit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHPLUG_PROVIDER", "oauth")
    monkeypatch.setenv("AUTHPLUG_OAUTH__ISSUER", idp.url)
    monkeypatch.setenv("AUTHPLUG_OAUTH__CLIENT_ID", kit.CLIENT_ID)
    monkeypatch.setenv("AUTHPLUG_OAUTH__CLIENT_SECRET", kit.CLIENT_SECRET)
    monkeypatch.setenv("AUTHPLUG_OAUTH__REDIRECT_URI", f"{kit.APP}/auth/callback")
    idp.userinfo = {"given_name": "Ada", "family_name": "Lovelace", "email": "ada@corp.example"}
    host = demo_host(tmp_path)
    app = create_app(host)
    assert app.state.provider_name == "oauth"
    try:
        await _sign_in_through_the_idp(app, idp, kit)
    finally:
        host.close()
    # the demo's SQLite store holds the user record, without tokens
    assert (tmp_path / "users.sqlite3").exists()


async def _sign_in_through_the_idp(app: Any, idp: Any, kit: Any) -> None:
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=kit.APP) as client,
        httpx.AsyncClient(timeout=5) as browser_at_idp,
    ):
        first = await client.get("/admin", headers={"accept": "text/html"})
        assert first.status_code == 302
        assert first.headers["location"].startswith(idp.url)
        at_idp = await browser_at_idp.get(first.headers["location"])
        assert at_idp.status_code == 302
        callback = await client.get(at_idp.headers["location"], headers={"accept": "text/html"})
        assert callback.status_code == 302
        assert callback.headers["location"] == "/admin"
        # signed in, but without the admin role the demo's access rule answers 403
        admin = await client.get("/admin", headers={"accept": "text/html"})
        assert admin.status_code == 403
        me = await client.get("/api/me")
        assert me.status_code == 200
        assert me.json()["userId"] == "user-42"
        home = await client.get("/")
        assert home.status_code == 200
        assert "Ada" in home.text
        assert "oauth" in home.text
