"""``cookie_domain``: a session cookie shared with sub-domains, ``__Secure-`` not ``__Host-``."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware
from authplug.config import AuthplugConfig, read_config
from authplug.errors import ConfigError
from authplug.models import AuthenticatedUser
from authplug.session import SessionManager
from authplug.session.cookie_policy import CookiePolicy

KEY = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def config(**values: Any) -> AuthplugConfig:
    return AuthplugConfig(cookie_keys=[KEY], store="memory", **values)


def read(tmp_path: Path, **environ: str) -> AuthplugConfig:
    config, _ = read_config(environ={"AUTHPLUG_COOKIE_KEYS": KEY, **environ}, cwd=tmp_path)
    return config


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("example.com", "example.com"),
        (".Example.COM", "example.com"),
        ("a.b-c.example", "a.b-c.example"),
    ],
)
def test_the_domain_is_normalised(tmp_path: Path, given: str, stored: str) -> None:
    assert read(tmp_path, AUTHPLUG_COOKIE_DOMAIN=given).cookie_domain == stored


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("https://example.com", "not a domain name"),
        ("example.com:8443", "not a domain name"),
        ("example.com/app", "not a domain name"),
        ("*.example.com", "not a domain name"),
        ("localhost", "not a domain name"),
        ("com", "not a domain name"),
        ("", "not a domain name"),
        ("exa mple.com", "not a domain name"),
        ("example.com; Secure", "not a domain name"),
        ("-bad.example.com", "not a domain name"),
        ("127.0.0.1", "IP address"),
    ],
)
def test_a_malformed_domain_is_refused_by_name(tmp_path: Path, given: str, reason: str) -> None:
    with pytest.raises(ConfigError, match="cookie_domain") as caught:
        read(tmp_path, AUTHPLUG_COOKIE_DOMAIN=given)
    assert reason in caught.value.message


def test_production_refuses_a_domain_with_insecure_cookies(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read(
            tmp_path,
            AUTHPLUG_ENV="production",
            AUTHPLUG_COOKIE_DOMAIN="example.com",
            AUTHPLUG_COOKIE_SECURE="false",
        )
    message = caught.value.message
    assert "cookie_domain together with cookie_secure = false" in message
    assert KEY not in message


def test_production_with_a_domain_uses_the_secure_prefix(tmp_path: Path) -> None:
    configured = read(tmp_path, AUTHPLUG_ENV="production", AUTHPLUG_COOKIE_DOMAIN="example.com")
    policy = CookiePolicy.from_config(configured)
    assert policy.session_name == "__Secure-authplug_session"
    header = policy.session_cookie(0, "v").header_value()
    assert header.startswith("__Secure-authplug_session.0=v; ")
    attributes = set(header.split("; ")[1:])
    assert {"Path=/", "Domain=example.com", "Secure", "HttpOnly", "SameSite=Lax"} <= attributes
    # Flow cookies stay host-only: a login starts and ends on the application's host.
    flow = policy.flow_cookie("t" * 22, "v").header_value()
    assert flow.startswith("__Host-authplug_flow.")
    assert "Domain" not in flow
    cleared = policy.clear_chunk(3).header_value()
    assert cleared.startswith("__Secure-authplug_session.3=; ")
    assert "Domain=example.com" in cleared
    assert "Max-Age=0" in cleared


def test_development_with_a_domain_has_no_prefix_and_keeps_the_domain() -> None:
    policy = CookiePolicy.from_config(config(cookie_domain="dev.example"))
    assert policy.session_name == "authplug_session"
    header = policy.session_cookie(0, "v").header_value()
    assert "Domain=dev.example" in header
    assert "Secure" not in header


def test_without_a_domain_nothing_changes() -> None:
    policy = CookiePolicy.from_config(config(cookie_secure=True))
    assert policy.session_name == "__Host-authplug_session"
    assert "Domain" not in policy.session_cookie(0, "v").header_value()
    assert "Domain" not in policy.clear_chunk(0).header_value()


@pytest.mark.parametrize("domain", [None, "example.com"])
@pytest.mark.parametrize("secure", [True, False])
def test_no_cookie_ever_combines_host_prefix_and_domain(domain: str | None, secure: bool) -> None:
    manager = SessionManager(config(cookie_domain=domain, cookie_secure=secure))
    user = AuthenticatedUser[Any, Any](
        user_id="u", user_type="internal-user", custom_data={"blob": "x" * 9000}
    )
    cookies = [*manager.write(manager.new_session(user, 1_700_000_000.0)), *manager.clear(3, ())]
    assert len(cookies) >= 5
    for cookie in cookies:
        header = cookie.header_value()
        assert not (header.startswith("__Host-") and "Domain=" in header), header
        is_session = cookie.name.startswith(manager.cookie_name + ".")
        assert ("Domain=example.com" in header) is (is_session and domain is not None), header


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.state.user.user_id})


@pytest.mark.anyio
async def test_a_domain_session_through_the_host(
    keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    host = kit.make_host(
        kit.TestProvider(clock),
        kit.make_config(keys, cookie_secure=True, cookie_domain="example.com"),
        store,
    )
    app = AuthMiddleware(Starlette(routes=[Route("/{p:path}", _whoami)]), host=host, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://app.example.com"
    ) as client:
        login = await kit.login(client, "alice")
        set_cookies = kit.set_cookie_headers(login.headers)
        session = [c for c in set_cookies if c.startswith("__Secure-authplug_session.")]
        assert session
        assert all("Domain=example.com" in c for c in session)
        assert not [c for c in set_cookies if c.startswith("__Host-authplug_session")]
        me = await client.get("/me")
        assert me.status_code == 200
        assert me.json() == {"user": "alice"}
        # A host-only cookie of the same value under the other name is not this session.
        pairs = kit.cookie_pairs(session)
        renamed = "; ".join(f"{k.replace('__Secure-', '__Host-')}={v}" for k, v in pairs.items())
        stranger = await client.get(
            "/me", headers={"cookie": renamed, "accept": "application/json"}
        )
        assert stranger.status_code == 401
