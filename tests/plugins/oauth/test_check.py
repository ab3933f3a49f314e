"""``authplug check`` for the OAuth provider: discovery and JWKS reached, the
features the settings need compared with what the server offers, clock skew."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.anyio


async def test_ready_server_has_no_problems(app: Any) -> None:
    assert list(await app.provider.check()) == []
    paths = {p for _, p in app.idp.requests}
    assert {"/.well-known/openid-configuration", "/jwks"} <= paths


async def test_missing_features_are_reported(make_app: Any, idp: Any) -> None:
    idp.discovery.update(
        code_challenge_methods_supported=["plain"],
        token_endpoint_auth_methods_supported=["private_key_jwt"],
        response_modes_supported=["query"],
    )
    app = make_app(response_mode="form_post")
    problems = "\n".join(await app.provider.check())
    assert "PKCE S256" in problems
    assert "client_secret_basic" in problems
    assert "form_post" in problems


async def test_unreachable_discovery_names_the_host(make_app: Any, idp: Any, kit: Any) -> None:
    idp.answers["/.well-known/openid-configuration"] = kit.Answer(404, b"", "text/plain")
    app = make_app()
    (problem,) = await app.provider.check()
    assert idp.url.removeprefix("http://") in problem


async def test_unusable_jwks_is_reported(make_app: Any, idp: Any) -> None:
    idp.jwks_keys = [{"kty": "oct", "k": "c2VjcmV0"}]
    app = make_app()
    problems = await app.provider.check()
    assert any("JWKS" in p for p in problems)


async def test_clock_skew_from_the_date_header(make_app: Any, idp: Any) -> None:
    app = make_app(leeway=30, clock=lambda: time.time() + 600)  # this machine runs 10 min ahead
    problems = await app.provider.check()
    assert any("clock differs" in p and "+6" in p for p in problems), problems
    in_time = make_app(leeway=30)
    assert not any("clock" in p for p in await in_time.provider.check())
