"""End to end: ``authplug.load(provider="jwt")`` behind the ASGI and WSGI
middleware, with the JWKS on a loopback server. API clients get the user or a
401 JSON answer with an RFC 6750 challenge; no session cookie is ever set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import authplug
from authplug.asgi import AuthMiddleware as AsgiAuth
from authplug.errors import ConfigError
from authplug.wsgi import AuthMiddleware as WsgiAuth


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _host(kit: Any, jwks_url: str, tmp_path: Path, **jwt: Any) -> Any:
    section = {
        "issuer": kit.ISSUER,
        "audience": kit.AUDIENCE,
        "algorithms": ["RS256"],
        "jwks_url": jwks_url,
        **jwt,
    }
    return authplug.load(
        provider="jwt", settings={"jwt": section}, environ={}, cwd=tmp_path, store="memory"
    )


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    user = scope.get("authplug.user")
    body = json.dumps({"user": user.user_id if user else None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    user = environ.get("authplug.user")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"user": user.user_id if user else None}).encode()]


@pytest.mark.anyio
async def test_asgi_accepts_and_rejects(kit: Any, loopback: Any, tmp_path: Path) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    host = _host(kit, server.url_for("/jwks"), tmp_path)
    app = AsgiAuth(_asgi_app, host=host)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        ok = await client.get("/api", headers={"authorization": f"Bearer {kit.rs256()}"})
        assert ok.status_code == 200
        assert ok.json() == {"user": "user-1"}
        assert "set-cookie" not in ok.headers
        bad_token = kit.rs256(aud="https://evil.example")
        bad = await client.get("/api", headers={"authorization": f"Bearer {bad_token}"})
        assert bad.status_code == 401
        assert bad.headers["www-authenticate"] == (
            'Bearer error="invalid_token", '
            'error_description="the token is not meant for this application"'
        )
        assert bad.json()["reason"] == "invalid_audience"
        assert bad.headers["content-type"].startswith("application/json")
        assert "set-cookie" not in bad.headers
        for fragment in bad_token.split("."):
            assert fragment not in bad.text
        missing = await client.get("/api", headers={"accept": "application/json"})
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
    assert server.requests == ["/jwks"]


def test_wsgi_accepts_and_rejects(kit: Any, loopback: Any, tmp_path: Path) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    host = _host(kit, server.url_for("/jwks"), tmp_path)
    app = WsgiAuth(_wsgi_app, host=host)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://t") as client:
        ok = client.get("/api", headers={"authorization": f"Bearer {kit.rs256()}"})
        assert ok.status_code == 200
        assert ok.json() == {"user": "user-1"}
        bad = client.get("/api", headers={"authorization": f"Bearer {kit.rs256(exp=1)}"})
        assert bad.status_code == 401
        assert bad.headers["www-authenticate"] == (
            'Bearer error="invalid_token", error_description="the token has expired"'
        )


def test_load_validates_the_jwt_section(kit: Any, tmp_path: Path) -> None:
    base = {"issuer": kit.ISSUER, "audience": kit.AUDIENCE, "jwks_url": "https://idp.example/j"}
    for section, fragment in [
        ({**base, "algorithms": "RS256"}, "jwt.algorithms"),
        ({**base, "algorithms": ["none"]}, "jwt.algorithms"),
        ({**base, "algorithms": ["RS256"], "leeway": 1000}, "jwt.leeway"),
        ({**base, "algorithms": ["RS256"], "surprise": 1}, "jwt.surprise"),
    ]:
        with pytest.raises(ConfigError, match=fragment.replace(".", r"\.")):
            authplug.load(provider="jwt", settings={"jwt": section}, environ={}, cwd=tmp_path)


def test_load_from_environment(kit: Any, loopback: Any, tmp_path: Path) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    environ = {
        "AUTHPLUG_PROVIDER": "jwt",
        "AUTHPLUG_STORE": "memory",
        "AUTHPLUG_JWT__ISSUER": kit.ISSUER,
        "AUTHPLUG_JWT__AUDIENCE": kit.AUDIENCE,
        "AUTHPLUG_JWT__ALGORITHMS": '["RS256", "ES256"]',
        "AUTHPLUG_JWT__JWKS_URL": server.url_for("/jwks"),
        "AUTHPLUG_JWT__LEEWAY": "30",
        "AUTHPLUG_JWT__REQUIRE_TYPE": "false",
    }
    host = authplug.load(environ=environ, cwd=tmp_path)
    assert host.stateless
    assert host.provider.verify(kit.rs256())["sub"] == "user-1"


def test_production_needs_no_cookie_keys_for_bearer_tokens(
    kit: Any, loopback: Any, tmp_path: Path
) -> None:
    """Issue #13.5: the JWT provider sets no cookie, so production needs no cookie_keys."""
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    environ = {
        "AUTHPLUG_ENV": "production",
        "AUTHPLUG_PROVIDER": "jwt",
        "AUTHPLUG_STORE": "memory",
        "AUTHPLUG_JWT__ISSUER": kit.ISSUER,
        "AUTHPLUG_JWT__AUDIENCE": kit.AUDIENCE,
        "AUTHPLUG_JWT__ALGORITHMS": '["RS256"]',
        "AUTHPLUG_JWT__JWKS_URL": server.url_for("/jwks"),
    }
    host = authplug.load(environ=environ, cwd=tmp_path)
    assert host.config.env == "production"
    assert host.config.cookie_keys == []
    app = WsgiAuth(_wsgi_app, host=host)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://api") as client:
        ok = client.get("/", headers={"authorization": f"Bearer {kit.rs256()}"})
    app.close()
    assert ok.status_code == 200
    assert ok.json()["user"] == "user-1"


def _check(environ: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHPLUG_")}
    env.update(environ)
    return subprocess.run(
        [sys.executable, "-m", "authplug.cli", "check"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_cli_check_reaches_the_jwks(kit: Any, loopback: Any, tmp_path: Path) -> None:
    server = loopback()
    server.documents["/jwks"] = {"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}
    base = {
        "AUTHPLUG_PROVIDER": "jwt",
        "AUTHPLUG_STORE": "memory",
        "AUTHPLUG_JWT__ISSUER": kit.ISSUER,
        "AUTHPLUG_JWT__AUDIENCE": kit.AUDIENCE,
        "AUTHPLUG_JWT__ALGORITHMS": "RS256",
    }
    ok = _check({**base, "AUTHPLUG_JWT__JWKS_URL": server.url_for("/jwks")}, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "provider: jwt (authplug-jwt" in ok.stdout
    assert "ephemeral key" not in ok.stderr  # a bearer provider sets no cookie
    assert server.requests == ["/jwks"]

    server.documents["/empty"] = {"keys": [kit.public_jwk(kit.keys.p256, kid="e1")]}
    empty = _check({**base, "AUTHPLUG_JWT__JWKS_URL": server.url_for("/empty")}, tmp_path)
    assert empty.returncode == 1
    assert "holds no key usable" in empty.stderr

    down = _check({**base, "AUTHPLUG_JWT__JWKS_URL": "http://127.0.0.1:9/jwks"}, tmp_path)
    assert down.returncode == 1
    assert "identity provider" in down.stderr
    assert "unavailable" in down.stderr
    assert "Traceback" not in down.stderr
