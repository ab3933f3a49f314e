"""A live OAuth session: silent refresh, its failures, logout at the server,
``form_post``, and a plain OAuth 2.0 (GitHub-style) server."""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine

pytestmark = pytest.mark.anyio
HTML = {"accept": "text/html"}


def _grant_types(idp: Any) -> list[str]:
    return [form.get("grant_type", "") for form in idp.forms.get("/token", [])]


async def test_refresh_when_the_access_token_nears_expiry(make_app: Any, idp: Any) -> None:
    idp.expires_in = 30  # inside the core's refresh_margin (60 s): the next request refreshes
    app = make_app()
    assert (await app.login()).status_code == 302
    page = await app.client.get("/private")
    assert page.status_code == 200
    assert page.json()["user"] == "user-42"
    assert _grant_types(idp) == ["authorization_code", "refresh_token"]
    assert len(idp.access_tokens) == 2
    # later, the refreshed session refreshes again with the rotated refresh token
    with time_machine.travel(time.time() + 45, tick=False):
        again = await app.client.get("/private")
    assert again.status_code == 200
    assert _grant_types(idp) == ["authorization_code", "refresh_token", "refresh_token"]


async def test_a_response_without_a_new_refresh_token_keeps_the_old_one(
    make_app: Any, idp: Any
) -> None:
    idp.expires_in = 30
    idp.rotate_refresh_token = False
    app = make_app()
    await app.login()
    await app.client.get("/private")
    with time_machine.travel(time.time() + 45, tick=False):
        await app.client.get("/private")
    sent = [form["refresh_token"] for form in idp.forms["/token"][1:]]
    assert len(sent) == 2
    assert sent[0] == sent[1]


async def test_invalid_grant_ends_the_session(make_app: Any, idp: Any) -> None:
    idp.expires_in = 30
    app = make_app()
    await app.login()
    idp.refresh_tokens.clear()  # revoked at the server
    response = await app.client.get("/private", headers=HTML)
    assert response.status_code == 302
    assert response.headers["location"].startswith(idp.url + "/authorize")
    cleared = [v for v in response.headers.get_list("set-cookie") if "authplug_session" in v]
    assert cleared
    assert all("Max-Age=0" in v for v in cleared)


async def test_refreshed_id_token_for_another_user_ends_the_session(
    make_app: Any, idp: Any
) -> None:
    idp.expires_in = 30
    app = make_app()
    await app.login()
    idp.refresh_sub = "someone-else"
    response = await app.client.get("/private", headers={"accept": "application/json"})
    assert response.status_code == 401


async def test_unreachable_idp_keeps_the_session_and_warns(
    make_app: Any, idp: Any, kit: Any, caplog: pytest.LogCaptureFixture
) -> None:
    idp.expires_in = 30
    app = make_app(timeout=2.0)  # ample for the answering IdP on a busy CI machine
    await app.login()
    idp.answers["/token"] = kit.Answer(503, b"down", "text/plain")
    with caplog.at_level(logging.WARNING, logger="authplug_oauth"):
        page = await app.client.get("/private")
    assert page.status_code == 200
    assert page.json()["user"] == "user-42"
    assert any("keeping the session" in r.getMessage() for r in caplog.records)
    # retried after unreachable_retry, not on every request
    calls = len(idp.forms["/token"])
    assert (await app.client.get("/private")).status_code == 200
    assert len(idp.forms["/token"]) == calls


async def test_rp_initiated_logout_with_revocation(app: Any, idp: Any) -> None:
    await app.login()
    form = await app.client.get("/auth/logout")
    token = re.search(r'name="[^"]+" value="([^"]+)"', form.text)
    assert token is not None
    field = re.search(r'<input type="hidden" name="([^"]+)"', form.text)
    assert field is not None
    response = await app.client.post("/auth/logout", data={field.group(1): token.group(1)})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(idp.url + "/end_session?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["client_id"] == "authplug-test-client"
    assert query["id_token_hint"].count(".") == 2
    revoked = [f["token_type_hint"] for f in idp.forms["/revoke"]]
    assert revoked == ["refresh_token", "access_token"]
    after = await app.client.get("/private", headers=HTML)
    assert after.status_code == 302  # signed out locally too


async def test_logout_post_logout_redirect_uri(make_app: Any, idp: Any) -> None:
    app = make_app(post_logout_redirect_uri="/signed-out", revoke_on_logout=False)
    await app.login()
    form = await app.client.get("/auth/logout")
    name, value = re.search(r'name="([^"]+)" value="([^"]+)"', form.text).groups()  # type: ignore[union-attr]
    response = await app.client.post("/auth/logout", data={name: value})
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["post_logout_redirect_uri"] == ["https://app.test/signed-out"]
    assert "/revoke" not in idp.forms


async def test_form_post(make_app: Any, idp: Any) -> None:
    app = make_app(response_mode="form_post")
    start = await app.client.get("/private", headers=HTML)
    authorization = start.headers["location"]
    assert parse_qs(urlsplit(authorization).query)["response_mode"] == ["form_post"]
    flow_cookies = [v for v in start.headers.get_list("set-cookie") if "authplug_flow" in v]
    assert flow_cookies
    assert all("SameSite=None" in v and "Secure" in v for v in flow_cookies)
    callback = await app.authorize(authorization)
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    # a GET with the parameters is refused: only the cross-site POST is the callback
    assert (await app.client.get(callback)).status_code == 405
    response = await app.client.post("/auth/callback", data=params, headers=HTML)
    assert response.status_code == 302
    assert response.headers["location"] == "/private"
    session = [v for v in response.headers.get_list("set-cookie") if "authplug_session" in v]
    assert session
    assert all("SameSite=Lax" in v for v in session)  # the session cookie stays Lax
    assert (await app.client.get("/private")).json()["user"] == "user-42"


async def test_plain_oauth2_server(make_app: Any, idp: Any) -> None:
    idp.userinfo = {"id": 583231, "login": "octocat", "name": "The Octocat"}
    app = make_app(
        issuer=None,
        authorization_endpoint=f"{idp.url}/authorize",
        token_endpoint=f"{idp.url}/token",
        userinfo_endpoint=f"{idp.url}/userinfo",
        scopes=["read:user"],
        claims={"user_id": "id", "first_name": "name"},
    )
    authorization = await app.start_login()
    query = parse_qs(urlsplit(authorization).query)
    assert "nonce" not in query
    assert query["code_challenge_method"] == ["S256"]
    response = await app.client.get(
        await app.authorize(authorization), headers={"accept": "application/json"}
    )
    assert response.status_code == 302, response.text
    me = (await app.client.get("/private")).json()
    assert me["user"] == "583231"
    assert me["first"] == "The Octocat"
    assert ("GET", "/.well-known/openid-configuration") not in idp.requests


async def test_internal_email_domain_makes_an_internal_user(make_app: Any, idp: Any) -> None:
    idp.userinfo = {"email": "ada@corp.example", "email_verified": True}
    app = make_app(claims={"internal_email_domains": ["corp.example"]})
    await app.login()
    assert (await app.client.get("/private")).json()["type"] == "internal-user"


async def test_sign_in_entry_point(app: Any, idp: Any) -> None:
    response = await app.client.get("/auth/login?return_to=/reports", headers=HTML)
    assert response.status_code == 302
    authorization = response.headers["location"]
    assert authorization.startswith(idp.url + "/authorize")
    done = await app.client.get(await app.authorize(authorization))
    assert done.headers["location"] == "/reports"


async def test_an_id_token_over_the_budget_is_not_kept(make_app: Any, idp: Any) -> None:
    app = make_app(id_token_max_bytes=0)
    await app.login()
    form = await app.client.get("/auth/logout")
    name, value = re.search(r'name="([^"]+)" value="([^"]+)"', form.text).groups()  # type: ignore[union-attr]
    response = await app.client.post("/auth/logout", data={name: value})
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert "id_token_hint" not in query
    assert query["client_id"] == ["authplug-test-client"]  # what logout needs without it
