"""The same OpenID Connect login through the WSGI host (Flask): the provider's
async calls run on the host's background loop, the browser sees the same flow."""

from __future__ import annotations

from typing import Any

import httpx
from flask import Flask, jsonify, request

from authplug.config import AuthplugConfig
from authplug.host import build_host
from authplug.stores.memory import MemoryUserStore
from authplug.wsgi import AuthMiddleware
from authplug_oauth import OAuthProvider


def test_login_through_flask(idp: Any, kit: Any) -> None:
    from .conftest import settings_for

    idp.userinfo = {"given_name": "Ada"}
    store = MemoryUserStore()
    host = build_host(OAuthProvider(settings_for(idp)), AuthplugConfig(), store=store)
    flask = Flask("authplug_oauth_wsgi")

    @flask.route("/<path:rest>")
    def whoami(rest: str) -> Any:
        user = request.environ["authplug.user"]
        return jsonify(user=user.user_id, first=user.first_name)

    middleware = AuthMiddleware(flask.wsgi_app, host=host)
    flask.wsgi_app = middleware  # type: ignore[method-assign]
    try:
        with (
            httpx.Client(transport=httpx.WSGITransport(app=flask), base_url=kit.APP) as app,
            httpx.Client(timeout=5) as browser,
        ):
            start = app.get("/reports", headers={"accept": "text/html"})
            assert start.status_code == 302
            back = browser.get(start.headers["location"])
            done = app.get(back.headers["location"], headers={"accept": "text/html"})
            assert done.status_code == 302
            assert done.headers["location"] == "/reports"
            assert app.get("/reports").json() == {"user": "user-42", "first": "Ada"}
            assert len(store) == 1
    finally:
        middleware.close()
        host.close()
