"""A remembered "valid" verdict never outlives the classifier's answer (issue #9 hot path).

The hot path remembers :meth:`Lifecycle.classify_session`'s ``VALID`` answer
per exact Cookie header value (:mod:`authplug.session.verdicts`). Each test
first makes a header's verdict remembered (a request that the classifier
finds valid), then changes what the classifier would say — the clock moves
past a lifetime, the refresh margin, the validation or touch interval, or
back before the session began; the session is revoked; the path is one an
access rule denies — and replays the same header through both hosts: the
fast path must return the user exactly when a fresh classification says
``VALID``, and a real request must get the state's answer.

A Hypothesis property walks random sequences of such changes and checks the
same agreement at every step.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authplug import asgi, wsgi
from authplug.bounded_map import BoundedMap
from authplug.host import Host
from authplug.lifecycle import Lifecycle, SessionState
from authplug.session import SessionManager
from authplug.session.verdicts import ValidVerdict

IDLE = 1200.0  # touched after max(60 s, idle / 20) = 60 s
ABSOLUTE = 7200.0
VALIDATE = 300.0
TOKENS = 200.0  # due for refresh before validation (300 s), after a touch (60 s)


@dataclass
class Hosts:
    host: Host
    provider: Any
    clock: Any
    asgi: asgi.AuthMiddleware
    wsgi: wsgi.AuthMiddleware


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": scope["authplug.user"].user_id.encode()})


def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [environ["authplug.user"].user_id.encode()]


def _make_hosts(keys: list[str], store: Any, clock: Any, kit: ModuleType, **config: Any) -> Hosts:
    provider = kit.TestProvider(clock)
    provider.token_lifetime = TOKENS
    values: dict[str, Any] = {
        "idle_timeout": IDLE,
        "absolute_lifetime": ABSOLUTE,
        "validate_interval": VALIDATE,
        "access": [{"path": "/admin", "roles": ["pika:content-admin"]}],
    }
    values.update(config)
    host = kit.make_host(provider, kit.make_config(keys, **values), store)
    return Hosts(
        host,
        provider,
        clock,
        asgi.AuthMiddleware(_asgi_app, host=host, clock=clock),
        wsgi.AuthMiddleware(_wsgi_app, host=host, clock=clock),
    )


@pytest.fixture
def hosts(keys: list[str], store: Any, clock: Any, kit: ModuleType) -> Iterator[Hosts]:
    made = _make_hosts(keys, store, clock, kit)
    yield made
    made.wsgi.close()


def _login(hosts: Hosts, roles: tuple[str, ...] = ()) -> tuple[str, str]:
    """Seal a session for alice now; returns (Cookie header value, sid)."""
    user = hosts.provider.make_user("alice", roles=roles)
    session = hosts.host.sessions.new_session(user, hosts.clock())
    cookies = hosts.host.sessions.write(session)
    return "; ".join(f"{c.name}={c.value}" for c in cookies), session.sid


def _fresh_state(lifecycle: Lifecycle, header: str, path: str, now: float) -> SessionState:
    state, _, _ = lifecycle.classify_session([(b"cookie", header.encode("latin-1"))], path, now)
    return state


def _fast(kind: str, hosts: Hosts, header: str, path: str) -> Any:
    """The hot path as each host calls it: ASGI with header pairs, WSGI with the str."""
    if kind == "asgi":
        return hosts.asgi.lifecycle.session_user(
            [(b"accept", b"text/html"), (b"cookie", header.encode("latin-1"))], path
        )
    return hosts.wsgi.lifecycle.cookie_user(header, path)


def _lifecycle(kind: str, hosts: Hosts) -> Lifecycle:
    return hosts.asgi.lifecycle if kind == "asgi" else hosts.wsgi.lifecycle


def _agrees(kind: str, hosts: Hosts, header: str, path: str) -> SessionState:
    """The fast path returns the user exactly when a fresh classification says VALID."""
    state = _fresh_state(_lifecycle(kind, hosts), header, path, hosts.clock())
    user = _fast(kind, hosts, header, path)
    if state is SessionState.VALID:
        assert user is not None
        assert user.user_id == "alice"
    else:
        assert user is None, f"remembered verdict answered in state {state}"
    return state


def _status(kind: str, hosts: Hosts, header: str, path: str) -> int:
    headers = {"accept": "text/html", "cookie": header}
    if kind == "asgi":
        import asyncio

        async def go() -> int:
            transport = httpx.ASGITransport(app=hosts.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
                return (await c.get(path, headers=headers)).status_code

        return asyncio.run(go())
    transport = httpx.WSGITransport(app=hosts.wsgi)
    with httpx.Client(transport=transport, base_url="http://app.example") as c:
        return c.get(path, headers=headers).status_code


def _remembered(kind: str, hosts: Hosts, header: str) -> None:
    """Make ``header``'s verdict a cache entry, and prove it is one."""
    assert _fast(kind, hosts, header, "/page") is not None
    verdicts = _lifecycle(kind, hosts)._verdicts
    assert verdicts is not None
    key: bytes | str = header.encode("latin-1") if kind == "asgi" else header
    assert verdicts.get(key) is not None


KINDS = ["asgi", "wsgi"]


# Each bound alone ends the window: the others are set far beyond it.
_FAR = 100_000.0
_BOUNDS = {
    # idle below the 60 s touch floor: the idle end comes first
    "idle-ended": (
        {"idle_timeout": 30, "validate_interval": _FAR},
        _FAR,
        31,
        SessionState.EXPIRED,
        302,
    ),
    "refresh-due": (
        {"idle_timeout": 20_000, "validate_interval": _FAR},
        200.0,
        141,
        SessionState.DUE_REFRESH,
        200,
    ),
    "validation-due": (
        {"idle_timeout": 20_000},
        _FAR,
        VALIDATE + 1,
        SessionState.DUE_VALIDATION,
        200,
    ),
    "touch-due": (
        {"idle_timeout": 1200, "validate_interval": _FAR},
        _FAR,
        61,
        SessionState.RESEAL,
        200,
    ),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bound", list(_BOUNDS))
def test_the_window_ends_with_each_time_bound(
    kind: str, bound: str, keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    config, tokens, advance, state, status = _BOUNDS[bound]
    made = _make_hosts(keys, store, clock, kit, absolute_lifetime=_FAR, **config)
    made.provider.token_lifetime = tokens
    try:
        header, _ = _login(made)
        _remembered(kind, made, header)
        clock.advance(advance - 1.5)
        assert _agrees(kind, made, header, "/page") is SessionState.VALID  # not yet
        clock.advance(1.5)
        assert _agrees(kind, made, header, "/page") is state
        calls = (made.provider.validate_calls, made.provider.refresh_calls)
        assert _status(kind, made, header, "/page") == status
        if state is SessionState.DUE_REFRESH:
            assert made.provider.refresh_calls == calls[1] + 1
        if state is SessionState.DUE_VALIDATION:
            assert made.provider.validate_calls == calls[0] + 1
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_cookie_sealed_with_an_older_key_is_never_remembered(
    kind: str, keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    old = kit.make_key()
    made = _make_hosts([keys[0], old], store, clock, kit)
    try:
        older = SessionManager(kit.make_config([old]))
        session = older.new_session(made.provider.make_user("alice"), clock())
        header = "; ".join(f"{c.name}={c.value}" for c in older.write(session))
        for _ in range(3):  # RESEAL every time: the cookie must be written with the new key
            assert _agrees(kind, made, header, "/page") is SessionState.RESEAL
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_the_absolute_lifetime_ends_a_remembered_verdict(
    kind: str, keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    made = _make_hosts(
        keys, store, clock, kit, idle_timeout=1000, absolute_lifetime=1000, validate_interval=5000
    )
    made.provider.token_lifetime = 100_000
    try:
        user = made.provider.make_user("alice")
        began = made.host.sessions.new_session(user, clock() - 950)
        session = began.model_copy(update={"last_seen_at": clock(), "validated_at": clock()})
        header = "; ".join(f"{c.name}={c.value}" for c in made.host.sessions.write(session))
        _remembered(kind, made, header)
        clock.advance(49)  # idle and touch are far; the absolute end is 50 s away
        assert _agrees(kind, made, header, "/page") is SessionState.VALID
        clock.advance(2)
        assert _agrees(kind, made, header, "/page") is SessionState.EXPIRED
        assert _status(kind, made, header, "/page") == 302
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_revocation_is_checked_on_every_hit(kind: str, hosts: Hosts) -> None:
    header, sid = _login(hosts)
    _remembered(kind, hosts, header)
    hosts.host.revocation.revoked.revoke(sid, hosts.clock() + 3600, hosts.clock())
    assert _agrees(kind, hosts, header, "/page") is SessionState.REVOKED
    assert _status(kind, hosts, header, "/page") == 302


@pytest.mark.parametrize("kind", KINDS)
def test_access_rules_are_decided_per_path_on_a_hit(kind: str, hosts: Hosts) -> None:
    header, _ = _login(hosts)
    _remembered(kind, hosts, header)
    assert _agrees(kind, hosts, header, "/admin") is SessionState.DENIED
    assert _status(kind, hosts, header, "/admin") == 403
    assert _agrees(kind, hosts, header, "/page") is SessionState.VALID
    admin, _ = _login(hosts, roles=("pika:content-admin",))
    _remembered(kind, hosts, admin)
    assert _agrees(kind, hosts, admin, "/admin") is SessionState.VALID
    assert _status(kind, hosts, admin, "/admin") == 200


@pytest.mark.parametrize("kind", KINDS)
def test_a_clock_moved_back_before_the_session_began_is_not_valid(kind: str, hosts: Hosts) -> None:
    header, _ = _login(hosts)
    _remembered(kind, hosts, header)
    hosts.clock.advance(-120)  # more than the accepted 60 s skew
    assert _agrees(kind, hosts, header, "/page") is SessionState.INVALID
    assert _status(kind, hosts, header, "/page") == 302


@pytest.mark.parametrize("kind", KINDS)
def test_a_denied_first_request_is_remembered_and_still_decided_per_path(
    kind: str, hosts: Hosts
) -> None:
    header, _ = _login(hosts)
    assert _fast(kind, hosts, header, "/admin") is None  # DENIED: remembered, no user
    assert _agrees(kind, hosts, header, "/page") is SessionState.VALID


@pytest.mark.parametrize("kind", KINDS)
def test_cache_off_remembers_nothing(
    kind: str, keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    made = _make_hosts(keys, store, clock, kit, session_cache_size=0)
    try:
        header, _ = _login(made)
        assert _fast(kind, made, header, "/page") is not None
        assert _lifecycle(kind, made)._verdicts is None
    finally:
        made.wsgi.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_tampered_header_is_never_remembered(kind: str, hosts: Hosts) -> None:
    header, _ = _login(hosts)
    _remembered(kind, hosts, header)
    name, _, value = header.partition("=")
    tampered = f"{name}={value[:-8]}AAAAAAAA"
    assert _agrees(kind, hosts, tampered, "/page") is SessionState.INVALID
    verdicts = _lifecycle(kind, hosts)._verdicts
    assert verdicts is not None
    assert len(verdicts) == 1


_STEP = st.one_of(
    st.tuples(st.just("advance"), st.floats(min_value=-90, max_value=700)),
    st.tuples(st.just("revoke"), st.just(0.0)),
    st.tuples(st.just("admin"), st.just(0.0)),
    st.tuples(st.just("relogin"), st.just(0.0)),
)


@pytest.mark.parametrize("kind", KINDS)
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(_STEP, min_size=1, max_size=25))
def test_the_fast_path_always_agrees_with_a_fresh_classification(
    kind: str, steps: list[tuple[str, float]], keys: list[str], store: Any, kit: ModuleType
) -> None:
    clock = kit.Clock()
    made = _make_hosts(keys, store, clock, kit)
    try:
        header, sid = _login(made)
        for action, amount in steps:
            path = "/page"
            if action == "advance":
                clock.advance(amount)
            elif action == "revoke":
                made.host.revocation.revoked.revoke(sid, clock() + 3600, clock())
            elif action == "admin":
                path = "/admin"
            else:
                header, sid = _login(made)
            _agrees(kind, made, header, path)
    finally:
        made.wsgi.close()


def test_the_verdict_cache_is_bounded_and_drops_the_oldest() -> None:
    cache: BoundedMap[bytes | str, ValidVerdict] = BoundedMap(2)
    verdict = ValidVerdict(user=None, sid="s", earliest=0.0, until=time.time())  # type: ignore[arg-type]
    cache.put(b"a", verdict)
    cache.put("b", verdict)
    cache.put(b"c", verdict)
    assert len(cache) == 2
    assert cache.get(b"a") is None
    assert cache.get("b") is verdict
    assert cache.get(b"c") is verdict
    assert cache.get("c") is None  # str and bytes keys never meet
    cache.drop("b")
    assert cache.get("b") is None
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0
    assert BoundedMap[str, int](0).capacity == 1
