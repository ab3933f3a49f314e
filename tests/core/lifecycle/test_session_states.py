"""Every state of a read session through both hosts and both paths (issue #9, item 1).

One synchronous classifier (``Lifecycle.classify_cookie``) judges a read
session; the fast path (``session_user``) and the full path (``protect``)
both use it. For each state, built for real (sealed cookies, a clock, the
revocation map, access rules), this checks through the ASGI and the WSGI
host that:

* the classifier names the state;
* the fast path returns the user for ``VALID`` and only then;
* the full path answers as the state demands (and, for ``VALID``, exactly
  as the fast path: the same user, no cookie, no hook);
* a real HTTP request through the middleware gets that answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import pytest

from authplug import asgi, wsgi
from authplug.host import Host
from authplug.lifecycle import MAX_COOKIE_HEADER, Lifecycle, SessionState
from authplug.request import AuthRequest
from authplug.responses import Proceed, Respond
from authplug.session import SessionManager

SESSION = "authplug_session"


@dataclass
class Case:
    """One request built to be in a given session state."""

    cookie: str
    path: str = "/page"


def _cookie_header(cookies: Any) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in cookies if c.max_age != 0)


def _session_cookie(host: Host, kit: ModuleType, provider: Any, clock: Any, **kw: Any) -> Any:
    """Seal a fresh session for alice at ``clock()``; returns (header, session)."""
    user = provider.make_user("alice", roles=kw.get("roles", ()))
    manager: SessionManager = kw.get("manager", host.sessions)
    session = manager.new_session(user, clock())
    return _cookie_header(manager.write(session)), session


def _build(state: SessionState, host: Host, kit: ModuleType, provider: Any, clock: Any) -> Case:
    """Arrange ``state``: cookies sealed now, then the clock or the host moved as needed."""
    if state is SessionState.ABSENT:
        return Case(cookie="")
    if state is SessionState.TOO_LARGE:
        return Case(cookie=f"{SESSION}.0=" + "A" * 70_000)
    if state is SessionState.INVALID:
        header, _ = _session_cookie(host, kit, provider, clock)
        name, _, value = header.partition("=")
        return Case(cookie=f"{name}={value[:-12]}AAAAAAAAAAAA")
    if state is SessionState.DUE_REFRESH:
        provider.token_lifetime = 100.0  # sealed with tokens expiring soon
    header, session = _session_cookie(host, kit, provider, clock)
    if state is SessionState.EXPIRED:
        clock.advance(host.config.idle_timeout + 1)
    elif state is SessionState.REVOKED:
        host.revocation.revoked.revoke(session.sid, clock() + 3600, clock())
    elif state is SessionState.DUE_REFRESH:
        clock.advance(100.0 - host.config.refresh_margin + 1)
    elif state is SessionState.DUE_VALIDATION:
        clock.advance(host.config.validate_interval + 1)
    elif state is SessionState.RESEAL:
        clock.advance(90)  # past the touch interval (60 s here), before validation is due
    elif state is SessionState.DENIED:
        return Case(cookie=header, path="/admin")
    return Case(cookie=header)


@dataclass
class Hosts:
    host: Host
    provider: Any
    clock: Any
    asgi: asgi.AuthMiddleware
    wsgi: wsgi.AuthMiddleware


@pytest.fixture
def hosts(keys: list[str], store: Any, clock: Any, kit: ModuleType) -> Iterator[Hosts]:
    provider = kit.TestProvider(clock)
    config = kit.make_config(
        keys,
        idle_timeout=1200,  # touched (re-sealed) after max(60 s, idle / 20) = 60 s
        access=[{"path": "/admin", "roles": ["pika:content-admin"]}],
    )
    host = kit.make_host(provider, config, store)
    asgi_app = asgi.AuthMiddleware(_asgi_app, host=host, clock=clock)
    wsgi_app = wsgi.AuthMiddleware(_wsgi_app, host=host, clock=clock)
    yield Hosts(host, provider, clock, asgi_app, wsgi_app)
    wsgi_app.close()


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    body = scope["authplug.user"].user_id.encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [environ["authplug.user"].user_id.encode()]


def _headers(case: Case) -> list[tuple[bytes, bytes]]:
    pairs = [(b"accept", b"text/html")]
    if case.cookie:
        pairs.append((b"cookie", case.cookie.encode("latin-1")))
    return pairs


def _full_path(kind: str, lifecycle: Lifecycle, case: Case) -> Proceed | Respond:
    request = AuthRequest(method="GET", path=case.path, headers=_headers(case))
    coro = lifecycle.protect(request)
    if kind == "asgi":
        return asyncio.run(coro)
    try:  # the WSGI driver: the coroutine never suspends
        coro.send(None)
    except StopIteration as stop:
        result: Proceed | Respond = stop.value
        return result
    raise AssertionError("the WSGI lifecycle suspended")


def _http(kind: str, hosts: Hosts, case: Case) -> httpx.Response:
    headers = {"accept": "text/html"}
    if case.cookie:
        headers["cookie"] = case.cookie
    if kind == "asgi":

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=hosts.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://app.example") as c:
                return await c.get(case.path, headers=headers)

        return asyncio.run(go())
    with httpx.Client(
        transport=httpx.WSGITransport(app=hosts.wsgi), base_url="http://app.example"
    ) as c:
        return c.get(case.path, headers=headers)


def _expect(state: SessionState) -> Callable[[Proceed | Respond], bool]:
    """What the full path must answer for ``state`` (a browser request)."""
    if state is SessionState.VALID:
        return lambda o: isinstance(o, Proceed) and o.cookies == ()
    if state in (SessionState.RESEAL, SessionState.DUE_REFRESH, SessionState.DUE_VALIDATION):
        return lambda o: (
            isinstance(o, Proceed)
            and any(c.name == f"{SESSION}.0" and c.max_age != 0 for c in o.cookies)
        )
    if state is SessionState.TOO_LARGE:
        return lambda o: isinstance(o, Respond) and o.status == 431
    if state is SessionState.DENIED:
        return lambda o: isinstance(o, Respond) and o.status == 403
    # ABSENT, INVALID, EXPIRED, REVOKED: no session, the provider starts a login.
    return lambda o: isinstance(o, Respond) and o.status == 302


_HTTP_STATUS = {
    SessionState.VALID: 200,
    SessionState.RESEAL: 200,
    SessionState.DUE_REFRESH: 200,
    SessionState.DUE_VALIDATION: 200,
    SessionState.TOO_LARGE: 431,
    SessionState.DENIED: 403,
}


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("state", list(SessionState), ids=[s.value for s in SessionState])
def test_every_state_through_both_paths(
    state: SessionState, kind: str, hosts: Hosts, kit: ModuleType
) -> None:
    case = _build(state, hosts.host, kit, hosts.provider, hosts.clock)
    middleware = hosts.asgi if kind == "asgi" else hosts.wsgi
    lifecycle = middleware.lifecycle
    headers = _headers(case)

    classified, read, _ = lifecycle.classify_session(headers, case.path, hosts.clock())
    assert classified is state

    fast = lifecycle.session_user(headers, case.path)
    if state is SessionState.VALID:
        assert fast is not None
        assert read.session is not None
        assert fast.user_id == read.session.user.user_id == "alice"
    else:
        assert fast is None

    calls = (hosts.provider.validate_calls, hosts.provider.refresh_calls)
    outcome = _full_path(kind, lifecycle, case)
    assert _expect(state)(outcome), outcome
    if state is SessionState.VALID:
        assert isinstance(outcome, Proceed)
        assert fast is not None
        assert outcome.user.user_id == fast.user_id
        assert (hosts.provider.validate_calls, hosts.provider.refresh_calls) == calls
    if state is SessionState.DUE_REFRESH:
        assert hosts.provider.refresh_calls == calls[1] + 1
    if state is SessionState.DUE_VALIDATION:
        assert hosts.provider.validate_calls == calls[0] + 1

    response = _http(kind, hosts, case)
    assert response.status_code == _HTTP_STATUS.get(state, 302), response.text
    if response.status_code == 200:
        assert response.text == "alice"


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_cookie_sealed_with_an_older_key_is_resealed(
    kind: str, keys: list[str], store: Any, clock: Any, kit: ModuleType
) -> None:
    old = kit.make_key()
    provider = kit.TestProvider(clock)
    host = kit.make_host(provider, kit.make_config([keys[0], old]), store)
    middleware: Any = (asgi.AuthMiddleware if kind == "asgi" else wsgi.AuthMiddleware)(
        _asgi_app if kind == "asgi" else _wsgi_app, host=host, clock=clock
    )
    older = SessionManager(kit.make_config([old]))
    header, _ = _session_cookie(host, kit, provider, clock, manager=older)
    case = Case(cookie=header)
    state, read, touched = middleware.lifecycle.classify_session(_headers(case), "/", clock())
    assert state is SessionState.RESEAL
    assert read.needs_reseal
    assert touched is None
    assert middleware.lifecycle.session_user(_headers(case), "/") is None
    outcome = _full_path(kind, middleware.lifecycle, case)
    assert _expect(SessionState.RESEAL)(outcome)
    if kind == "wsgi":
        middleware.close()


def test_the_states_are_exactly_these() -> None:
    """A new state must be added to the table above (and to both paths' handling)."""
    assert {s.value for s in SessionState} == {
        "absent",
        "invalid",
        "expired",
        "too_large",
        "revoked",
        "due_refresh",
        "due_validation",
        "reseal",
        "denied",
        "valid",
    }


@pytest.mark.parametrize("state", list(SessionState), ids=[s.value for s in SessionState])
def test_several_cookie_headers_are_judged_as_their_join(
    state: SessionState, hosts: Hosts, kit: ModuleType
) -> None:
    """HTTP/2 may send one Cookie header per cookie: they are judged as the one header
    ``"; "`` joins them into (RFC 9113 section 8.2.3), by the same classifier, and the
    fast path then answers as the full path."""
    case = _build(state, hosts.host, kit, hosts.provider, hosts.clock)
    lifecycle = hosts.asgi.lifecycle
    now = hosts.clock()
    split = [(b"cookie", part.encode("latin-1")) for part in case.cookie.split("; ") if part]
    headers = [(b"accept", b"text/html"), *split, (b"x-other", b"1")]
    several = lifecycle.classify_session(headers, case.path, now)
    joined = lifecycle.classify_cookie(case.cookie.encode("latin-1"), case.path, now)
    assert several[0] is joined[0] is state
    assert several[1] == joined[1]
    fast = lifecycle.session_user(headers, case.path)
    assert (fast is not None) is (state is SessionState.VALID)


def test_the_size_limit_counts_several_cookie_headers_as_their_join(hosts: Hosts) -> None:
    """Two Cookie headers whose join is exactly the limit pass; one byte more is too large
    (the join adds two bytes per extra header, as a proxy's joined header would have)."""
    lifecycle = hosts.asgi.lifecycle
    half = MAX_COOKIE_HEADER // 2 - 1
    first, second = b"a=" + b"x" * (half - 2), b"b=" + b"y" * (half - 2)
    assert len(first) + 2 + len(second) == MAX_COOKIE_HEADER
    at_limit = [(b"cookie", first), (b"cookie", second)]
    assert lifecycle.classify_session(at_limit, "/page", hosts.clock())[0] is SessionState.ABSENT
    over = [(b"cookie", first), (b"cookie", second + b"y")]
    assert lifecycle.classify_session(over, "/page", hosts.clock())[0] is SessionState.TOO_LARGE
    assert lifecycle.session_user(over, "/page") is None
