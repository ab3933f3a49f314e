"""Every attack and failure of issue #11's negative list, end to end through the host.

Each case: a typed error (401 with its reason code, or 503 naming the server),
no session cookie, no store row, nothing secret logged, never a 500. The bad
tokens and answers come from the loopback test IdP (conftest.py), which signs
with keys made at test time.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization

pytestmark = pytest.mark.anyio

APP = "https://app.test"
CLIENT_ID = "authplug-test-client"
CLIENT_SECRET = "test-client-secret-0123456789abcdef"
DROP = "__drop__"  # the test IdP leaves such a member out

JSON = {"accept": "application/json"}


@pytest.fixture(autouse=True)
def _no_secret_logged(caplog: pytest.LogCaptureFixture, idp: Any) -> Iterator[None]:
    """After every test: no client secret, code, token or verifier in authplug's logs."""
    caplog.set_level(logging.DEBUG)
    yield
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("authplug"))
    assert CLIENT_SECRET not in logged
    assert "code-" not in logged
    for token in idp.access_tokens:
        assert token not in logged
    assert not any(
        r.levelno >= logging.ERROR for r in caplog.records if r.name.startswith("authplug")
    )


def refused(
    app: Any, response: httpx.Response, status: int = 401, reason: str | None = None
) -> None:
    """The common bar: the status, no session cookie, nothing stored."""
    assert response.status_code == status, response.text
    assert not app.session_cookies(response)
    assert len(app.store) == app.stored_before
    if reason is not None:
        assert response.json()["reason"] == reason


async def callback_of(app: Any, path: str = "/private") -> str:
    """Start a login and let the IdP approve: the callback URL (not yet visited)."""
    return str(await app.authorize(await app.start_login(path)))


def with_params(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}"


async def finish(app: Any, url: str) -> httpx.Response:
    return await app.client.get(url, headers=JSON)


async def login_with(app: Any) -> httpx.Response:
    return await finish(app, await callback_of(app))


# -- state and the authorization response ------------------------------------------------


async def test_login_csrf_attackers_code_and_state_in_the_victims_browser(app: Any) -> None:
    attacker_callback = await callback_of(app)  # the attacker's own login, stopped at the callback
    victim = httpx.AsyncClient(transport=app.client._transport, base_url=APP)
    response = await victim.get(attacker_callback, headers=JSON)
    refused(app, response, reason="invalid_state")
    assert "/token" not in {path for _, path in app.idp.requests}


@pytest.mark.parametrize("state", [None, "", "x" * 22, "not-a-txn"])
async def test_missing_or_wrong_state(app: Any, state: str | None) -> None:
    url = with_params(await callback_of(app), state=state)
    refused(app, await finish(app, url), reason="invalid_state")


async def test_replayed_state(app: Any) -> None:
    url = await callback_of(app)
    first = await app.client.get(url)
    assert first.status_code == 302
    assert len(app.store) == 1
    second = await app.client.get(url, headers=JSON)
    assert second.status_code == 401
    assert second.json()["reason"] == "invalid_state"
    assert not app.session_cookies(second)


async def test_state_is_consumed_even_when_the_callback_fails(app: Any) -> None:
    url = await callback_of(app)
    failed = await finish(app, with_params(url, code="wrong-code"))
    refused(app, failed, reason="token_request_refused")
    refused(app, await finish(app, url), reason="invalid_state")


@pytest.mark.parametrize("duplicate", ["state", "code", "iss"])
async def test_duplicated_parameters(app: Any, duplicate: str) -> None:
    url = await callback_of(app)
    value = parse_qs(urlsplit(url).query)[duplicate][0]
    refused(app, await finish(app, f"{url}&{duplicate}={value}"), reason="duplicated_parameter")


async def test_error_with_a_script_description(app: Any) -> None:
    url = await callback_of(app)
    state = parse_qs(urlsplit(url).query)["state"][0]
    script = "<script>alert(document.cookie)</script>"
    bad = with_params(url, code=None, error="access_denied", error_description=script)
    response = await app.client.get(bad, headers={"accept": "text/html"})
    assert response.status_code == 401
    assert "<script>" not in response.text
    assert script not in response.text
    assert not app.session_cookies(response)
    # the transaction is gone too
    refused(app, await finish(app, with_params(url, state=state)), reason="invalid_state")
    evil_code = with_params(url, error="<script>x</script>")
    refused(app, await finish(app, evil_code), reason="authorization_denied")


async def test_iss_mismatch(app: Any) -> None:
    url = with_params(await callback_of(app), iss="https://evil.example")
    refused(app, await finish(app, url), reason="invalid_iss")


async def test_iss_with_trailing_slash(app: Any) -> None:
    url = with_params(await callback_of(app), iss=app.idp.url + "/")
    refused(app, await finish(app, url), reason="invalid_iss")


async def test_iss_missing_when_advertised(app: Any) -> None:
    app.idp.send_iss = False
    refused(app, await login_with(app), reason="missing_iss")


async def test_iss_may_be_absent_when_not_advertised(make_app: Any, idp: Any) -> None:
    idp.discovery["authorization_response_iss_parameter_supported"] = False
    idp.send_iss = False
    app = make_app()
    assert (await login_with(app)).status_code == 302


async def test_pkce_failure(app: Any) -> None:
    url = await callback_of(app)
    (grant,) = app.idp.grants.values()
    grant.challenge = "A" * 43  # the verifier the client sends no longer matches
    refused(app, await finish(app, url), reason="token_request_refused")


async def test_missing_code(app: Any) -> None:
    url = with_params(await callback_of(app), code=None)
    refused(app, await finish(app, url), reason="missing_code")


# -- the ID token ------------------------------------------------------------------------


@pytest.mark.parametrize("nonce", ["other-nonce", DROP, 7])
async def test_nonce_mismatch_or_missing(app: Any, nonce: Any) -> None:
    app.idp.id_token_claims["nonce"] = nonce
    refused(app, await login_with(app), reason="invalid_nonce")


def _corrupt(token: str) -> str:
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[5] ^= 0x01
    return f"{head}.{payload}.{base64.urlsafe_b64encode(bytes(raw)).rstrip(b'=').decode()}"


@pytest.mark.parametrize(("alg", "kid"), [("RS256", "k1"), ("ES256", "e1")])
async def test_bad_signature(app: Any, keys: Any, alg: str, kid: str) -> None:
    key = keys.rsa if alg == "RS256" else keys.p256
    app.idp.sign_with = (alg, kid, key)
    original = app.idp.id_token
    app.idp.id_token = lambda *a, **k: _corrupt(original(*a, **k))  # type: ignore[method-assign]
    response = await login_with(app)
    refused(app, response, reason="invalid_id_token")


async def test_signed_under_the_right_kid_with_another_key(app: Any, keys: Any) -> None:
    app.idp.sign_with = ("RS256", "k1", keys.rsa_other)
    refused(app, await login_with(app), reason="invalid_id_token")


def _unsigned(alg: str, kit: Any) -> Any:
    def mint(header: dict[str, Any], claims: dict[str, Any]) -> str:
        header = {**header, "alg": alg}
        b64 = kit.tokens.b64
        return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."

    return mint


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_alg_none(app: Any, alg: str, kit: Any) -> None:
    app.idp.mint = _unsigned(alg, kit)
    refused(app, await login_with(app), reason="invalid_id_token")


async def test_hs256_signed_with_the_public_key(app: Any, keys: Any, kit: Any) -> None:
    pem = keys.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    app.idp.mint = lambda header, claims: kit.tokens.mint(
        {**header, "alg": "HS256"}, claims, kit.tokens.hmac_signer(pem)
    )
    refused(app, await login_with(app), reason="invalid_id_token")


async def test_algorithm_outside_the_allow_list(app: Any, keys: Any, kit: Any) -> None:
    app.idp.mint = lambda header, claims: kit.tokens.mint(
        {**header, "alg": "RS512"}, claims, kit.tokens.rsa_signer(keys.rsa, hashes.SHA512)
    )
    refused(app, await login_with(app), reason="invalid_id_token")


async def test_algorithm_the_server_does_not_advertise(make_app: Any, idp: Any, keys: Any) -> None:
    idp.discovery["id_token_signing_alg_values_supported"] = ["ES256"]
    app = make_app()
    refused(
        app, await login_with(app), reason="invalid_id_token"
    )  # RS256 is configured, not offered


@pytest.mark.parametrize(
    "aud", ["other-client", DROP, [CLIENT_ID, "untrusted"], [], 7, ["other-client"]]
)
async def test_wrong_missing_or_extra_audience(app: Any, aud: Any) -> None:
    app.idp.id_token_claims["aud"] = aud
    refused(app, await login_with(app), reason="invalid_id_token")


async def test_trusted_extra_audience_needs_azp(make_app: Any, idp: Any) -> None:
    app = make_app(trusted_audiences=["https://api.example"])
    idp.id_token_claims["aud"] = [CLIENT_ID, "https://api.example"]
    refused(app, await login_with(app), reason="invalid_azp")  # several audiences, no azp
    idp.id_token_claims["azp"] = CLIENT_ID
    assert (await login_with(app)).status_code == 302


@pytest.mark.parametrize("azp", ["other-client", 7, None])
async def test_azp_mismatch(app: Any, azp: Any) -> None:
    app.idp.id_token_claims["azp"] = azp
    refused(app, await login_with(app), reason="invalid_azp")


@pytest.mark.parametrize("suffix", ["/", "/x", "s"])
async def test_wrong_issuer(app: Any, suffix: str) -> None:
    app.idp.id_token_claims["iss"] = app.idp.url + suffix
    refused(app, await login_with(app), reason="invalid_id_token")


@pytest.mark.parametrize("claim", ["sub", "iat", "exp", "iss"])
async def test_missing_registered_claims(app: Any, claim: str) -> None:
    app.idp.id_token_claims[claim] = DROP
    refused(app, await login_with(app), reason="invalid_id_token")


@pytest.mark.parametrize("sub", ["", 42, ["user-42"]])
async def test_unusable_sub(app: Any, sub: Any) -> None:
    app.idp.id_token_claims["sub"] = sub
    refused(app, await login_with(app))


async def test_expired(app: Any) -> None:
    now = int(time.time())
    app.idp.id_token_claims.update(iat=now - 1000, exp=now - 61)
    refused(app, await login_with(app), reason="invalid_id_token")


async def test_iat_in_the_future(app: Any) -> None:
    app.idp.id_token_claims["iat"] = int(time.time()) + 3600
    refused(app, await login_with(app), reason="invalid_id_token")


@pytest.mark.parametrize("exp", ['"9999999999"', "null", "1e400", "true", "-1", "NaN"])
async def test_exp_of_the_wrong_type(app: Any, keys: Any, exp: str, kit: Any) -> None:
    def mint(header: dict[str, Any], claims: dict[str, Any]) -> str:
        body = json.dumps({**claims, "exp": "__EXP__"}).replace('"__EXP__"', exp)
        return str(kit.tokens.mint(header, body.encode(), kit.tokens.rsa_signer(keys.rsa)))

    app.idp.mint = mint
    refused(app, await login_with(app), reason="invalid_id_token")


async def test_bad_at_hash(app: Any) -> None:
    app.idp.id_token_claims["at_hash"] = base64.urlsafe_b64encode(b"x" * 16).rstrip(b"=").decode()
    refused(app, await login_with(app), reason="invalid_at_hash")


async def test_unknown_kid_one_refetch_then_reject(make_app: Any) -> None:
    now = [1000.0]
    app = make_app(monotonic=lambda: now[0])
    assert (await login_with(app)).status_code == 302
    app.client.cookies.clear()  # another browser
    app.stored_before = len(app.store)
    now[0] += 60  # past jwks_refetch_interval
    fetches = [p for _, p in app.idp.requests].count("/jwks")
    assert fetches == 1
    app.idp.sign_with = ("RS256", "k9", None)
    refused(app, await login_with(app), reason="invalid_id_token")
    assert [p for _, p in app.idp.requests].count("/jwks") == 2  # one refetch for the new kid
    refused(app, await login_with(app), reason="invalid_id_token")
    assert [p for _, p in app.idp.requests].count("/jwks") == 2  # rate-limited: no flood


async def test_jwks_whose_first_key_is_unusable(app: Any, keys: Any, kit: Any) -> None:
    app.idp.jwks_keys = [
        {"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"},  # far too small
        {"kty": "oct", "kid": "k1", "k": "c2VjcmV0"},
        kit.tokens.public_jwk(keys.rsa, kid="k1"),
    ]
    response = await login_with(app)
    assert response.status_code == 302, response.text


@pytest.mark.parametrize("member", ["jku", "x5u", "jwk"])
async def test_key_headers_are_ignored_without_any_request(
    app: Any, keys: Any, loopback: Any, member: str, kit: Any
) -> None:
    attacker = loopback()
    attacker.documents["/keys"] = {"keys": [kit.tokens.public_jwk(keys.rsa_other, kid="evil")]}
    value: Any = attacker.url_for("/keys")
    if member == "jwk":
        value = kit.tokens.public_jwk(keys.rsa_other, kid="evil")
    app.idp.sign_with = ("RS256", "evil", keys.rsa_other)
    app.idp.id_token_header[member] = value
    refused(app, await login_with(app), reason="invalid_id_token")
    assert attacker.requests == []


# -- UserInfo --------------------------------------------------------------------------------


async def test_userinfo_sub_mismatch(app: Any) -> None:
    app.idp.userinfo_sub = "someone-else"
    refused(app, await login_with(app), reason="userinfo_mismatch")


@pytest.mark.parametrize(
    ("status", "content_type", "body", "expected"),
    [
        (200, "text/html", b"<html>", 401),
        (200, "application/json", b"[1, 2]", 401),
        (200, "application/jwt", b"eyJ.eyJ.sig", 401),
        (401, "application/json", b'{"error": "invalid_token"}', 401),
        (500, "text/plain", b"oops", 503),
    ],
)
async def test_userinfo_unusable(
    app: Any, status: int, content_type: str, body: bytes, expected: int, kit: Any
) -> None:
    app.idp.answers["/userinfo"] = kit.Answer(status, body, content_type)
    refused(app, await login_with(app), status=expected)


async def test_userinfo_too_large(make_app: Any, idp: Any) -> None:
    app = make_app(max_response_bytes=4096)
    idp.userinfo = {"padding": "x" * 10000}
    refused(app, await login_with(app), status=503)


# -- the token endpoint ------------------------------------------------------------------------


async def test_token_endpoint_answering_html(app: Any, kit: Any) -> None:
    app.idp.answers["/token"] = kit.Answer(200, b"<html>login</html>", "text/html")
    response = await login_with(app)
    refused(app, response, status=503)
    assert "127.0.0.1" in response.text


async def test_token_endpoint_error_body_with_200(app: Any, kit: Any) -> None:
    app.idp.answers["/token"] = kit.Answer(200, b'{"error": "invalid_grant"}')
    refused(app, await login_with(app), reason="token_request_refused")


async def test_token_endpoint_500(app: Any, kit: Any) -> None:
    app.idp.answers["/token"] = kit.Answer(500, b"Internal Server Error", "text/plain")
    refused(app, await login_with(app), status=503)


async def test_token_endpoint_hanging_past_the_timeout(make_app: Any, idp: Any, kit: Any) -> None:
    # a timeout a busy CI machine still meets for the calls that do answer
    # (discovery, JWKS), against a token endpoint that answers far later
    app = make_app(timeout=2.0)
    idp.answers["/token"] = kit.Answer(200, b"{}", delay=30)
    refused(app, await login_with(app), status=503)


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "at", "token_type": "mac", "id_token": "x"},
        {"token_type": "Bearer", "id_token": "x"},
        {"access_token": "", "token_type": "Bearer", "id_token": "x"},
        {"access_token": "at", "token_type": "Bearer", "expires_in": "300", "id_token": "x"},
        {"access_token": "at", "token_type": "Bearer", "expires_in": 1.5, "id_token": "x"},
        {"access_token": "at", "token_type": "Bearer"},
    ],
)
async def test_token_response_checked(app: Any, body: dict[str, Any], kit: Any) -> None:
    app.idp.answers["/token"] = kit.Answer(200, json.dumps(body).encode())
    response = await login_with(app)
    refused(app, response)
    assert response.json()["reason"] in {"invalid_token_response", "missing_id_token"}


async def test_token_type_is_case_insensitive(app: Any) -> None:
    original = app.idp._token_set

    def lower(grant: Any, sub: str) -> dict[str, Any]:
        return {**original(grant, sub), "token_type": "bEaReR"}

    app.idp._token_set = lower  # type: ignore[method-assign]
    assert (await login_with(app)).status_code == 302


# -- discovery ------------------------------------------------------------------------------------


@pytest.mark.parametrize("issuer", ["https://evil.example", "{url}/", DROP])
async def test_discovery_issuer_mismatch(make_app: Any, idp: Any, issuer: Any) -> None:
    idp.discovery["issuer"] = issuer.format(url=idp.url) if isinstance(issuer, str) else issuer
    app = make_app()
    response = await app.client.get("/private", headers={"accept": "text/html"})
    refused(app, response, status=503)
    assert "/authorize" not in {p for _, p in idp.requests}


async def test_discovery_unreachable_is_a_503_naming_the_host(
    make_app: Any, idp: Any, kit: Any
) -> None:
    idp.answers["/.well-known/openid-configuration"] = kit.Answer(500, b"", "text/plain")
    app = make_app()
    response = await app.client.get("/private", headers={"accept": "text/html"})
    refused(app, response, status=503)
    assert idp.url.removeprefix("http://") in response.text
