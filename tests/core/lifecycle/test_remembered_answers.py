"""``Remembered`` fast-path answers of stateless providers (issue #16, the cache-hit row).

A stateless provider's ``authenticate_fast`` may return
``Remembered(user, until, not_before)``: the host then answers requests
carrying the same values of the headers the provider read, byte for byte,
from memory while ``not_before <= now < until``, without calling the
provider. Each test below counts the provider's calls and checks what the
client gets, through the ASGI and the WSGI host, for the moments and values
where the answer must not be reused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug import asgi, wsgi
from authplug.errors import NotAuthenticatedError
from authplug.fast_answers import MAX_KEY_LENGTH
from authplug.host import Host, build_host
from authplug.provider import AuthProvider, NoSettings
from authplug.request import AuthRequest, HeaderLookup
from authplug.results import Authenticated, AuthenticateResult, Remembered

KINDS = ["asgi", "wsgi"]
LIFETIME = 300.0


class ApiKeys(AuthProvider[NoSettings, dict[str, str], dict[str, str]]):
    """A stateless provider as the guide shows it: API keys, remembered for their lifetime."""

    __test__ = False
    stateless = True
    challenge = 'ApiKey realm="test"'

    def __init__(self, kit: ModuleType, clock: Any) -> None:
        super().__init__(NoSettings())
        self.kit = kit
        self.clock = clock
        self.keys = {"key-ada": "ada", "key-bob": "bob"}
        self.fast_calls = 0
        self.also_read: str | None = None  # a second header the answer depends on
        self.answer: Any = None  # replaces the answer when set (contract tests)

    def authenticate_fast(self, header: HeaderLookup) -> Any:
        self.fast_calls += 1
        if self.answer == "no header read":
            return Remembered(self.kit.User(user_id="ada", user_type="external-user"), until=1e12)
        key = header("x-api-key")
        if self.answer is not None:
            return self.answer
        if self.also_read is not None:
            suffix = header(self.also_read) or ""
            key = None if key is None else key + suffix
        name = self.keys.get(key or "")
        if name is None:
            return None
        user = self.kit.User(user_id=name, user_type="external-user", roles=("reader",))
        now = self.clock()
        return Remembered(user, until=now + LIFETIME, not_before=now - 5)

    def authenticate(self, request: AuthRequest) -> AuthenticateResult:
        name = self.keys.get(request.header("x-api-key") or "")
        if name is None:
            raise NotAuthenticatedError("unknown API key", code="bad_key")
        return Authenticated(user=self.kit.User(user_id=name, user_type="external-user"))


class Apps:
    """Both hosts over one provider, sharing the test's clock."""

    def __init__(self, host: Host, clock: Any) -> None:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            body = scope["authplug.user"].user_id.encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})

        def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
            start_response("200 OK", [])
            return [environ["authplug.user"].user_id.encode()]

        self.asgi = asgi.AuthMiddleware(app, host=host, clock=clock)
        self.wsgi = wsgi.AuthMiddleware(wsgi_app, host=host, clock=clock)

    def get(self, kind: str, headers: list[tuple[str, str]], path: str = "/x") -> httpx.Response:
        """One request; a list of pairs so that a header may repeat."""
        pairs = [("accept", "application/json"), *headers]
        if kind == "asgi":
            import asyncio

            async def go() -> httpx.Response:
                transport = httpx.ASGITransport(app=self.asgi)
                async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
                    return await c.get(path, headers=pairs)

            return asyncio.run(go())
        with httpx.Client(transport=httpx.WSGITransport(app=self.wsgi), base_url="http://a") as c:
            return c.get(path, headers=pairs)


@pytest.fixture
def provider(kit: ModuleType, clock: Any) -> ApiKeys:
    return ApiKeys(kit, clock)


def _apps(provider: ApiKeys, kit: ModuleType, keys: list[str], clock: Any, **config: Any) -> Apps:
    values: dict[str, Any] = {"access": [{"path": "/admin", "roles": ["pika:content-admin"]}]}
    values.update(config)
    return Apps(build_host(provider, kit.make_config(keys, **values)), clock)


@pytest.fixture
def apps(provider: ApiKeys, kit: ModuleType, keys: list[str], clock: Any) -> Iterator[Apps]:
    made = _apps(provider, kit, keys, clock)
    yield made
    made.wsgi.close()


def _kept(apps: Apps, kind: str) -> int:
    """How many answers the host keeps (memory, not only behaviour, is bounded)."""
    answers = (apps.asgi if kind == "asgi" else apps.wsgi).lifecycle._answers
    assert answers is not None
    return len(answers)


def _ok(response: httpx.Response, user: str) -> None:
    assert response.status_code == 200, response.text
    assert response.text == user


@pytest.mark.parametrize("kind", KINDS)
def test_a_remembered_answer_is_given_again_without_the_provider(
    kind: str, apps: Apps, provider: ApiKeys
) -> None:
    for _ in range(5):
        _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    assert provider.fast_calls == 1
    assert _kept(apps, kind) == 1
    _ok(apps.get(kind, [("x-api-key", "key-bob")]), "bob")
    assert provider.fast_calls == 2


@pytest.mark.parametrize("kind", KINDS)
def test_the_window_ends_and_the_provider_decides_again(
    kind: str, apps: Apps, provider: ApiKeys, clock: Any
) -> None:
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    clock.advance(LIFETIME - 1)
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    assert provider.fast_calls == 1
    del provider.keys["key-ada"]  # revoked at the source: only a fresh answer can know
    clock.advance(1)  # exactly `until`: no longer served
    refused = apps.get(kind, [("x-api-key", "key-ada")])
    assert refused.status_code == 401
    assert provider.fast_calls == 2
    assert _kept(apps, kind) == 0  # the stale answer is dropped, not only passed over


@pytest.mark.parametrize("kind", KINDS)
def test_not_served_before_not_before(kind: str, apps: Apps, provider: ApiKeys, clock: Any) -> None:
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    clock.advance(-6)  # the clock stepped back past not_before (now - 5)
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    assert provider.fast_calls == 2


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variant", ["key-ada ", "Key-ada", "key-ada=", "key-adA"])
def test_a_variant_value_is_a_miss(kind: str, variant: str, apps: Apps, provider: ApiKeys) -> None:
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    response = apps.get(kind, [("x-api-key", variant)])
    assert provider.fast_calls == 2
    if variant.strip() != "key-ada":
        assert response.status_code == 401


@pytest.mark.parametrize("kind", KINDS)
def test_access_rules_are_decided_on_every_remembered_answer(
    kind: str, apps: Apps, provider: ApiKeys
) -> None:
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    assert apps.get(kind, [("x-api-key", "key-ada")], "/admin").status_code == 403
    _ok(apps.get(kind, [("x-api-key", "key-ada")], "/page"), "ada")
    assert provider.fast_calls == 1


@pytest.mark.parametrize("kind", KINDS)
def test_every_header_the_provider_read_is_part_of_the_key(
    kind: str, apps: Apps, provider: ApiKeys
) -> None:
    provider.also_read = "x-key-suffix"
    provider.keys["key-ada-2"] = "ada"
    _ok(apps.get(kind, [("x-api-key", "key-ada-"), ("x-key-suffix", "2")]), "ada")
    _ok(apps.get(kind, [("x-api-key", "key-ada-"), ("x-key-suffix", "2")]), "ada")
    assert provider.fast_calls == 1
    refused = apps.get(kind, [("x-api-key", "key-ada-"), ("x-key-suffix", "3")])
    assert refused.status_code == 401
    absent = apps.get(kind, [("x-api-key", "key-ada-")])  # the second header missing
    assert absent.status_code == 401
    assert provider.fast_calls == 3


def test_a_repeated_header_is_keyed_by_its_first_value_as_the_provider_read_it(
    apps: Apps, provider: ApiKeys
) -> None:
    """ASGI keeps repeated headers apart; the provider's lookup sees the first one."""
    _ok(apps.get("asgi", [("x-api-key", "key-ada")]), "ada")
    _ok(apps.get("asgi", [("x-api-key", "key-ada"), ("x-api-key", "key-bob")]), "ada")
    assert provider.fast_calls == 1
    _ok(apps.get("asgi", [("x-api-key", "key-bob"), ("x-api-key", "key-ada")]), "bob")
    assert provider.fast_calls == 2


@pytest.mark.parametrize("kind", KINDS)
def test_no_credential_is_never_remembered(kind: str, apps: Apps, provider: ApiKeys) -> None:
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    for _ in range(2):
        assert apps.get(kind, []).status_code == 401
    assert provider.fast_calls == 3


@pytest.mark.parametrize("kind", KINDS)
def test_cache_off_remembers_nothing(
    kind: str, provider: ApiKeys, kit: ModuleType, keys: list[str], clock: Any
) -> None:
    made = _apps(provider, kit, keys, clock, session_cache_size=0)
    try:
        for _ in range(3):
            _ok(made.get(kind, [("x-api-key", "key-ada")]), "ada")
        assert provider.fast_calls == 3
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_outside_its_own_window_is_not_kept(
    kind: str, apps: Apps, provider: ApiKeys, kit: ModuleType, clock: Any
) -> None:
    user = kit.User(user_id="ada", user_type="external-user")
    for answer in (
        Remembered(user, until=clock()),  # already over
        Remembered(user, until=clock() + 60, not_before=clock() + 1),  # not yet
        Remembered(user, until=float("nan")),
    ):
        provider.answer = answer
        before = provider.fast_calls
        apps.get(kind, [("x-api-key", "key-ada")])
        apps.get(kind, [("x-api-key", "key-ada")])
        assert provider.fast_calls == before + 2, answer
        assert _kept(apps, kind) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_an_answer_that_read_no_header_is_not_kept(
    kind: str, apps: Apps, provider: ApiKeys
) -> None:
    provider.answer = "no header read"
    _ok(apps.get(kind, [("x-api-key", "key-ada")]), "ada")
    _ok(apps.get(kind, [("x-api-key", "key-bob")]), "ada")
    assert provider.fast_calls == 2
    assert _kept(apps, kind) == 0


def test_a_remembered_non_user_is_a_loud_contract_violation(
    apps: Apps, provider: ApiKeys, caplog: pytest.LogCaptureFixture
) -> None:
    provider.answer = Remembered({"user_id": "mallory"}, until=1e12)  # type: ignore[arg-type]
    caplog.set_level(logging.ERROR, logger="authplug")
    response = apps.get("asgi", [("x-api-key", "key-ada")])
    assert response.status_code == 200  # the full path decided
    assert response.text == "ada"
    assert any("returned Remembered" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("kind", KINDS)
def test_an_oversized_value_is_answered_but_not_kept(
    kind: str, apps: Apps, provider: ApiKeys
) -> None:
    huge = "k" * (MAX_KEY_LENGTH + 1)
    provider.keys[huge] = "ada"
    _ok(apps.get(kind, [("x-api-key", huge)]), "ada")
    _ok(apps.get(kind, [("x-api-key", huge)]), "ada")
    assert provider.fast_calls == 2
