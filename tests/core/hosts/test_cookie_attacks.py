"""Every cookie attack of issue #3, end to end through the ASGI and the WSGI host.

Cookies are minted by a real login on one host, then altered and replayed
against fresh ASGI (Starlette) and WSGI (Flask) apps that share the keys.
Each altered cookie must mean "no session": a browser is sent to login, an
API client gets 401, the session chunks it sent are cleared, nothing is
written to the store, and never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from wsgiref.util import setup_testing_defaults

import httpx
import pytest
from flask import Flask, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authplug.asgi import AuthMiddleware as AsgiAuth
from authplug.wsgi import AuthMiddleware as WsgiAuth

SESSION = "authplug_session"
FLOW = "authplug_flow"
IDLE = 100
ABSOLUTE = 150


def _flask_app() -> Flask:
    app = Flask("authplug_attack_app")

    @app.route("/<path:rest>", methods=["GET"])
    def whoami(rest: str) -> Any:
        return jsonify(user=request.environ["authplug.user"].user_id)

    return app


def _flask(host: Any, clock: Any, app: Flask | None = None) -> tuple[Flask, WsgiAuth]:
    """A Flask app behind a fresh middleware for ``host`` (``app``: one made before, reused)."""
    if app is None:
        app = _flask_app()
    inner = app.config.setdefault("authplug_attack_inner", app.wsgi_app)
    middleware = WsgiAuth(inner, host=host, clock=clock)
    app.wsgi_app = middleware  # type: ignore[method-assign]
    return app, middleware


async def _whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.scope["authplug.user"].user_id})


def _starlette() -> Starlette:
    return Starlette(routes=[Route("/{rest:path}", _whoami)])


def _chunks(set_cookies: list[str], kit: ModuleType) -> dict[str, str]:
    return {k: v for k, v in kit.cookie_pairs(set_cookies).items() if k.startswith(SESSION)}


@dataclass
class Minted:
    """Cookies from real logins (same keys as the targets)."""

    small: dict[str, str]
    big: dict[str, str]
    other_big: dict[str, str]
    flow: str
    touched: dict[str, str]
    foreign_key: dict[str, str]


@pytest.fixture
def minted(kit: ModuleType, keys: list[str]) -> Minted:
    clock = kit.Clock()
    config = kit.make_config(keys, idle_timeout=IDLE, absolute_lifetime=ABSOLUTE)
    host = kit.make_host(kit.TestProvider(clock), config, kit.SpyStore())
    app, middleware = _flask(host, clock)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://a") as c:

        def login(user: str, big: int = 0) -> dict[str, str]:
            c.cookies.clear()
            r = c.get("/auth/test/login", params={"user": user, "big": str(big)})
            assert r.status_code == 302
            return _chunks(kit.set_cookie_headers(r.headers), kit)

        small = login("alice")
        big = login("alice", 9000)
        other_big = login("bob", 9000)
        c.cookies.clear()
        start = c.get("/secret")
        (flow,) = (
            value
            for name, value in kit.cookie_pairs(kit.set_cookie_headers(start.headers)).items()
            if name.startswith(f"{FLOW}.")
        )
        c.cookies.clear()
        login("carol")
        clock.advance(IDLE - 10)  # a request inside the idle window re-seals last_seen
        touched_response = c.get("/secret")
        assert touched_response.status_code == 200
        touched = _chunks(kit.set_cookie_headers(touched_response.headers), kit)
        assert touched, "a request after 60 s should re-seal the session"
    middleware.close()
    foreign_clock = kit.Clock()
    foreign = kit.make_host(
        kit.TestProvider(foreign_clock), kit.make_config([kit.make_key()]), kit.SpyStore()
    )
    app2, middleware2 = _flask(foreign, foreign_clock)
    with httpx.Client(transport=httpx.WSGITransport(app=app2), base_url="http://a") as c2:
        r = c2.get("/auth/test/login", params={"user": "alice"})
        foreign_key = _chunks(kit.set_cookie_headers(r.headers), kit)
    middleware2.close()
    assert len(small) == 1
    assert len(big) >= 3
    assert len(other_big) == len(big)
    return Minted(small, big, other_big, flow, touched, foreign_key)


def _call_wsgi(app: Any, cookie: str, extra: dict[str, str]) -> tuple[int, httpx.Headers]:
    """One GET /secret through the WSGI callable, as a server would make it."""
    environ: dict[str, Any] = {"PATH_INFO": "/secret", "HTTP_COOKIE": cookie}
    environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in extra.items()})
    setup_testing_defaults(environ)
    captured: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.append((int(status.split()[0]), headers))
        return lambda data: None

    body = app(environ, start_response)
    b"".join(body)
    getattr(body, "close", lambda: None)()
    status, headers = captured[0]
    return status, httpx.Headers(headers)


def _header(pairs: list[tuple[str, str]]) -> str:
    return "; ".join(f"{k}={v}" for k, v in pairs)


def _flip(value: str, index: int) -> str:
    ch = value[index]
    return value[:index] + ("B" if ch == "A" else "A") + value[index + 1 :]


@dataclass(frozen=True)
class Attack:
    name: str
    cookie: str
    advance: float = 0.0
    status: int = 302


def attacks(m: Minted) -> list[Attack]:
    small = m.small[f"{SESSION}.0"]
    big = sorted(m.big.items())
    other = dict(m.other_big)
    n = len(big)
    out = [
        Attack(f"bit flip at byte {i}", _header([(f"{SESSION}.0", _flip(small, i))]))
        for i in range(len(small))
    ]
    out += [Attack(f"truncate {k}", _header([(f"{SESSION}.0", small[:-k])])) for k in (1, 16, 32)]
    out += [
        Attack("empty value", f"{SESSION}.0="),
        Attack("only the count prefix", _header([(f"{SESSION}.0", small.split("~", 1)[0] + "~")])),
        Attack("padding", _header([(f"{SESSION}.0", small + "=")])),
        Attack("double padding", _header([(f"{SESSION}.0", small + "==")])),
        Attack("junk appended", _header([(f"{SESSION}.0", small + "!!")])),
        Attack(
            "standard alphabet",
            _header([(f"{SESSION}.0", small.replace("-", "+").replace("_", "/"))]),
        ),
        Attack("inner whitespace", _header([(f"{SESSION}.0", small[:20] + "%20" + small[20:])])),
        Attack("non-ascii", f"{SESSION}.0={small[:10]}é{small[10:]}"),
        Attack(
            "chunk splicing across two users",
            _header([(k, other[k] if k.endswith(".1") else v) for k, v in big]),
        ),
        Attack("missing chunk", _header([(k, v) for k, v in big if not k.endswith(".1")])),
        Attack("duplicated chunk", _header([*big, big[1]])),
        Attack(
            "reordered chunks",
            _header(
                [
                    (k, big[2][1] if k.endswith(".1") else big[1][1] if k.endswith(".2") else v)
                    for k, v in big
                ]
            ),
        ),
        Attack("extra chunk", _header([*big, (f"{SESSION}.{n}", big[1][1])])),
        Attack(
            "chunk count 999",
            _header(
                [(k, "999~" + v.split("~", 1)[1]) if k.endswith(".0") else (k, v) for k, v in big]
            ),
        ),
        Attack("flow cookie as session cookie", _header([(f"{SESSION}.0", "1~" + m.flow)])),
        Attack("cookie from a removed key", _header(sorted(m.foreign_key.items()))),
        Attack("idle lifetime over", _header(sorted(m.small.items())), advance=IDLE + 1),
        Attack(
            "absolute lifetime over (idle still fresh)",
            _header(sorted(m.touched.items())),
            advance=ABSOLUTE + 1,
        ),
        Attack("1 MiB Cookie header", f"{SESSION}.0=" + "A" * (1024 * 1024), status=431),
    ]
    return out


Send = Callable[[str, dict[str, str]], tuple[int, httpx.Headers]]


def _verdicts(attack: Attack, send: Send, store: Any, kit: ModuleType) -> list[str]:
    problems = []
    sent = {
        part.split("=", 1)[0].strip()
        for part in attack.cookie.split(";")
        if part.strip().startswith(SESSION)
    }
    status, headers = send(attack.cookie, {})
    if status != attack.status:
        problems.append(f"{attack.name}: browser got {status}, expected {attack.status}")
    elif status == 302:
        if not headers["location"].startswith("/auth/test/login"):
            problems.append(f"{attack.name}: redirected to {headers['location']!r}")
        cleared = kit.cleared_names(kit.set_cookie_headers(headers))
        if not (sent & cleared):
            problems.append(f"{attack.name}: session cookies {sorted(sent)} not cleared")
    api_status, _ = send(attack.cookie, {"accept": "application/json"})
    if api_status != (401 if attack.status == 302 else attack.status):
        problems.append(f"{attack.name}: API client got {api_status}")
    if store.logins or store.updates:
        problems.append(f"{attack.name}: the store was written")
    return problems


def _target(kit: ModuleType, keys: list[str]) -> tuple[Any, Any, Any]:
    clock = kit.Clock()
    store = kit.SpyStore()
    config = kit.make_config(keys, idle_timeout=IDLE, absolute_lifetime=ABSOLUTE)
    return kit.make_host(kit.TestProvider(clock), config, store), store, clock


def test_a_genuine_cookie_is_accepted_by_both_targets(
    minted: Minted, kit: ModuleType, keys: list[str]
) -> None:
    host, _, clock = _target(kit, keys)
    app, middleware = _flask(host, clock)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://a") as c:
        for cookies in (minted.small, minted.big):
            r = c.get("/secret", headers={"cookie": _header(sorted(cookies.items()))})
            assert r.status_code == 200
        clock.advance(IDLE - 10)
        r = c.get("/secret", headers={"cookie": _header(sorted(minted.touched.items()))})
        assert r.status_code == 200
    middleware.close()


def test_every_cookie_attack_through_wsgi(minted: Minted, kit: ModuleType, keys: list[str]) -> None:
    problems: list[str] = []
    flask_app = _flask_app()  # stateless; each attack gets its own host, store, clock, middleware
    for attack in attacks(minted):
        host, store, clock = _target(kit, keys)
        clock.advance(attack.advance)
        app, middleware = _flask(host, clock, flask_app)
        # Called at the WSGI boundary directly: httpx's WSGI transport cannot
        # carry a non-ASCII (latin-1) Cookie header, which a real server passes.

        def send(cookie: str, extra: dict[str, str], app: Any = app) -> tuple[int, httpx.Headers]:
            return _call_wsgi(app, cookie, extra)

        problems += _verdicts(attack, send, store, kit)
        middleware.close()
    assert problems == []


@pytest.mark.anyio
async def test_every_cookie_attack_through_asgi(
    minted: Minted, kit: ModuleType, keys: list[str]
) -> None:
    problems: list[str] = []
    for attack in attacks(minted):
        host, store, clock = _target(kit, keys)
        clock.advance(attack.advance)
        app = AsgiAuth(_starlette(), host=host, clock=clock)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://a"
        ) as c:
            results: dict[tuple[str, str], tuple[int, httpx.Headers]] = {}
            for extra in ({}, {"accept": "application/json"}):
                r = await c.get(
                    "/secret", headers={"cookie": attack.cookie.encode("latin-1"), **extra}
                )
                results[(attack.cookie, extra.get("accept", ""))] = (r.status_code, r.headers)

            def send(
                cookie: str,
                extra: dict[str, str],
                results: dict[tuple[str, str], tuple[int, httpx.Headers]] = results,
            ) -> tuple[int, httpx.Headers]:
                return results[(cookie, extra.get("accept", ""))]

            problems += _verdicts(attack, send, store, kit)
    assert problems == []
