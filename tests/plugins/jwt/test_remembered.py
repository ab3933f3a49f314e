"""The JWT provider's fast path answers ``Remembered`` for its cache entry's window (issue #16).

The host then answers the same ``Authorization`` header from memory, without
calling the provider. These tests drive both hosts with one clock shared by
the provider and the host, and check that a remembered token is refused
exactly where a fresh verification refuses it (``exp`` plus the leeway), that
the cache TTL bounds it as it bounds the verified-token cache, and that with
the cache off every request is verified.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from authplug import asgi, wsgi
from authplug.testing import make_config, make_host
from authplug_jwt import JwtProvider

NOW = 1_800_000_000
LEEWAY = 30


class Clock:
    """The provider's and the host's clock."""

    def __init__(self) -> None:
        self.now = float(NOW)

    def __call__(self) -> float:
        return self.now


@dataclass
class Stack:
    provider: JwtProvider
    asgi: asgi.AuthMiddleware
    wsgi: wsgi.AuthMiddleware
    verified: list[str]


async def _asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = json.dumps({"user": scope["authplug.user"].user_id}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [json.dumps({"user": environ["authplug.user"].user_id}).encode()]


def _stack(kit: Any, clock: Clock, **jwt: Any) -> Stack:
    settings = kit.settings(
        jwks={"keys": [kit.public_jwk(kit.keys.rsa, kid="k1")]}, leeway=LEEWAY, **jwt
    )
    provider = JwtProvider(settings, clock=clock)
    verified: list[str] = []
    attempt = provider.verifier.attempt

    def counting_attempt(token: str) -> Any:  # a spy: the real verification still runs
        verified.append(token)
        return attempt(token)

    provider.verifier.attempt = counting_attempt  # type: ignore[method-assign]
    host = make_host(provider, make_config(), name="jwt")
    return Stack(
        provider,
        asgi.AuthMiddleware(_asgi_app, host=host, clock=clock),
        wsgi.AuthMiddleware(_wsgi_app, host=host, clock=clock),
        verified,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stack(kit: Any, clock: Clock) -> Iterator[Stack]:
    made = _stack(kit, clock)
    yield made
    made.wsgi.close()


def _get(kind: str, stack: Stack, token: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
    if kind == "asgi":
        import asyncio

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=stack.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
                return await c.get("/api", headers=headers)

        return asyncio.run(go())
    with httpx.Client(transport=httpx.WSGITransport(app=stack.wsgi), base_url="http://a") as c:
        return c.get("/api", headers=headers)


KINDS = ["asgi", "wsgi"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_remembered_token_is_refused_where_a_fresh_check_refuses_it(
    kind: str, kit: Any, stack: Stack, clock: Clock
) -> None:
    token = kit.rs256(iat=NOW, exp=NOW + 100)
    assert _get(kind, stack, token).status_code == 200
    clock.now = NOW + 100 + LEEWAY - 1  # inside exp + leeway: served from memory
    assert _get(kind, stack, token).status_code == 200
    assert len(stack.verified) == 1
    clock.now = NOW + 100 + LEEWAY  # a fresh check refuses from here on
    refused = _get(kind, stack, token)
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_cache_ttl_bounds_a_remembered_answer_too(kind: str, kit: Any, clock: Clock) -> None:
    made = _stack(kit, clock, cache_ttl=60)
    try:
        token = kit.rs256(iat=NOW, exp=NOW + 3600)
        assert _get(kind, made, token).status_code == 200
        clock.now = NOW + 59
        assert _get(kind, made, token).status_code == 200
        assert len(made.verified) == 1
        clock.now = NOW + 60
        assert _get(kind, made, token).status_code == 200
        assert len(made.verified) == 2  # verified afresh at the TTL
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_with_the_cache_off_every_request_is_verified(kind: str, kit: Any, clock: Clock) -> None:
    made = _stack(kit, clock, cache_size=0)
    try:
        token = kit.rs256(iat=NOW, exp=NOW + 3600)
        for _ in range(3):
            assert _get(kind, made, token).status_code == 200
        assert len(made.verified) == 3
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_not_yet_valid_is_never_remembered_early(
    kind: str, kit: Any, stack: Stack, clock: Clock
) -> None:
    token = kit.rs256(iat=NOW, nbf=NOW, exp=NOW + 3600)
    assert _get(kind, stack, token).status_code == 200
    clock.now = NOW - LEEWAY - 1  # the clock stepped back before nbf - leeway
    assert _get(kind, stack, token).status_code == 401
