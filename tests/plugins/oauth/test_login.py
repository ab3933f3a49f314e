"""The OpenID Connect login through the host, against the loopback test IdP:
protected page -> authorization endpoint -> callback -> session -> the page first asked for."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.anyio


async def test_login_lands_on_the_page_first_asked(app: Any) -> None:
    app.idp.userinfo = {"given_name": "Ada", "email": "ada@corp.example"}
    authorization = await app.start_login("/private/report?x=1")
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorization).query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "authplug-test-client"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) == 22
    assert len(query["nonce"]) >= 43
    assert query["scope"] == "openid profile email"
    assert query["redirect_uri"] == "https://app.test/auth/callback"
    callback = await app.authorize(authorization)
    response = await app.client.get(callback, headers={"accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["location"] == "/private/report?x=1"
    assert app.session_cookies(response)
    page = await app.client.get("/private/report?x=1")
    assert page.status_code == 200
    assert page.json()["user"] == "user-42"
    assert page.json()["first"] == "Ada"
    assert len(app.store) == 1
    # the exchange used the exact redirect_uri and the verifier behind the challenge
    (form,) = app.idp.forms["/token"]
    assert form["redirect_uri"] == "https://app.test/auth/callback"
    assert form["grant_type"] == "authorization_code"
    assert "client_secret" not in form  # client_secret_basic


async def test_session_holds_tokens_only_in_the_cookie(app: Any) -> None:
    await app.login()
    record = app.store.get("user-42")
    assert record is not None
    assert "at-" not in repr(record)
    assert "rt-" not in repr(record)


async def test_client_secret_post(make_app: Any) -> None:
    app = make_app(token_endpoint_auth_method="client_secret_post")
    response = await app.login()
    assert response.status_code == 302
    (form,) = app.idp.forms["/token"]
    assert form["client_secret"] == "test-client-secret-0123456789abcdef"


async def test_two_tabs_log_in_at_once(app: Any) -> None:
    first = await app.start_login("/one")
    second = await app.start_login("/two")
    callback_two = await app.authorize(second)
    callback_one = await app.authorize(first)
    r2 = await app.client.get(callback_two, headers={"accept": "text/html"})
    assert r2.headers["location"] == "/two"
    r1 = await app.client.get(callback_one, headers={"accept": "text/html"})
    assert r1.status_code == 302
    assert r1.headers["location"] == "/one"


async def test_api_client_gets_401_not_a_redirect(app: Any) -> None:
    response = await app.client.get("/private", headers={"accept": "application/json"})
    assert response.status_code == 401
    assert app.idp.requests == []


async def test_nothing_secret_is_logged(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await app.login()
    # what authplug logs (the test's own httpx client logs the URLs it fetches)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("authplug"))
    assert "authplug" in " ".join(r.name for r in caplog.records)
    assert "test-client-secret" not in logged
    for token in app.idp.access_tokens:
        assert token not in logged
    assert "code-" not in logged
