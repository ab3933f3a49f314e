"""JWT rows: cold verification against python-jose, and the repeated-token path."""

from __future__ import annotations

from typing import Any

from harness import Plan, Row, measure, ratio_row, skip_row
from jwt_keys import Issuer, make_issuer

__all__ = ["ALGORITHMS", "make_provider", "run"]

ALGORITHMS = ("RS256", "ES256", "HS256")
REPEAT_LIMIT_US = 10.0


def make_provider(issuer: Issuer, **settings: Any) -> Any:
    """authplug's JWT provider for ``issuer`` (settings validated like ``load`` does)."""
    from authplug_jwt.provider import JwtProvider
    from authplug_jwt.settings import JwtSettings

    return JwtProvider(JwtSettings.model_validate({**issuer.settings, **settings}))


def cold_row(alg: str, plan: Plan) -> Row:
    """Verify one token with no cache against ``jose.jwt.decode`` with a prepared key."""
    issuer = make_issuer(alg)
    provider = make_provider(issuer, cache_size=0)
    token = issuer.token()
    if provider.verify(token)["sub"] != issuer.jose_decode(token)["sub"]:
        raise RuntimeError(f"{alg}: provider and python-jose disagree")

    def subject(n: int) -> None:
        verify = provider.verify
        for _ in range(n):
            verify(token)

    def baseline(n: int) -> None:
        decode = issuer.jose_decode
        for _ in range(n):
            decode(token)

    t = measure({"jose": baseline, "authplug": subject}, plan)
    return ratio_row(
        f"JWT cold {alg}",
        f"JwtProvider.verify(token), cache off, {alg}",
        "python-jose jwt.decode, prepared key, same claim checks",
        t["authplug"],
        t["jose"],
        1.2,
    )


def repeat_row(plan: Plan) -> Row:
    """The same bearer token again: ``JwtProvider.authenticate`` answered by the cache."""
    from authplug.request import AuthRequest
    from authplug.results import Authenticated

    issuer = make_issuer("RS256")
    provider = make_provider(issuer)
    token = issuer.token()
    request = AuthRequest(
        method="GET",
        path="/api/me",
        headers=[
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"application/json"),
            (b"authorization", b"Bearer " + token.encode()),
        ],
    )
    first = provider.authenticate(request)
    if not isinstance(first, Authenticated):
        raise RuntimeError(f"authenticate returned {type(first).__name__}")

    def subject(n: int) -> None:
        authenticate = provider.authenticate
        for _ in range(n):
            authenticate(request)

    def cold(n: int) -> None:
        verify = provider.verifier.verify
        for _ in range(n):
            verify(token)

    t = measure({"cold": cold, "cached": subject}, plan)
    median = t["cached"].median_us
    return Row(
        figure="JWT repeated token (cache)",
        measured="JwtProvider.authenticate(request), same RS256 token (cache hit)",
        baseline="- (absolute); cold verify shown as base",
        subject=median,
        base=t["cold"].median_us,
        ratio=None,
        target=f"<= {REPEAT_LIMIT_US:g} us",
        passed=median <= REPEAT_LIMIT_US,
        note=f"best {t['cached'].best_us:.1f} us",
        extra={"best_us": t["cached"].best_us},
    )


def bearer_request_rows(plan: Plan) -> list[Row]:
    """Bearer RS256 requests through both hosts against the hand-written python-jose floor.

    Per host, in one interleaved run: the endpoint alone, the floor, the
    floor with a token dict (``exp`` checked per hit), authplug with its
    verified-token cache and authplug without it. Headline rows (issue #16):
    cache off <= 1.1x the floor's added cost; cache hit <= 1.5x the caching
    floor's, and not above the session cache-hit row (see its note).
    """
    import asyncio
    import json
    import secrets

    from apps import asgi_driver, flask_app, starlette_app, wsgi_driver
    from floor_bearer import BearerAsgiFloor, BearerWsgiFloor, TokenUsers
    from harness import added_row
    from workload import bench_config

    from authplug.asgi import AuthMiddleware as AsgiAuth
    from authplug.host import PluginInfo, build_host
    from authplug.wsgi import AuthMiddleware as WsgiAuth

    issuer = make_issuer("RS256")

    def host(**settings: Any) -> Any:
        provider = make_provider(issuer, **settings)
        return build_host(
            provider, bench_config(secrets.token_bytes(32)), provider_info=PluginInfo(name="jwt")
        )

    cached, cold = host(), host(cache_size=0)
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"accept", b"application/json"),
        (b"authorization", b"Bearer " + issuer.token(sub="bench-user").encode()),
    ]
    rows: list[Row] = []
    for kind in ("ASGI (Starlette)", "WSGI (Flask)"):
        loop = asyncio.new_event_loop()
        try:
            if kind.startswith("ASGI"):
                app: Any = starlette_app()
                variants = {
                    "authplug_cold": AsgiAuth(app, host=cold),
                    "authplug": AsgiAuth(app, host=cached),
                    "floor": BearerAsgiFloor(app, TokenUsers(issuer.jose_decode, cache=False)),
                    "floor_cached": BearerAsgiFloor(
                        app, TokenUsers(issuer.jose_decode, cache=True)
                    ),
                    "alone": app,
                }

                def drive(v: Any, loop: Any = loop) -> Any:
                    return asgi_driver(v, headers, loop)
            else:
                flask = flask_app()
                variants = {
                    "authplug_cold": WsgiAuth(flask.wsgi_app, host=cold),
                    "authplug": WsgiAuth(flask.wsgi_app, host=cached),
                    "floor": BearerWsgiFloor(
                        flask.wsgi_app, TokenUsers(issuer.jose_decode, cache=False)
                    ),
                    "floor_cached": BearerWsgiFloor(
                        flask.wsgi_app, TokenUsers(issuer.jose_decode, cache=True)
                    ),
                    "alone": flask.wsgi_app,
                }

                def drive(v: Any) -> Any:
                    return wsgi_driver(v, headers)

            batches = {}
            for name, variant in variants.items():
                batch, (status, body) = drive(variant)
                expected = None if name == "alone" else "bench-user"
                if status != 200 or json.loads(body)["user"] != expected:
                    raise RuntimeError(f"bearer/{kind}/{name}: status {status}, {body[:200]!r}")
                batches[name] = batch
            t = measure(batches, plan)
        finally:
            loop.close()
        host_name = kind.split()[0].lower()
        floor = "hand-written middleware: python-jose decode, prepared key, claims -> user"
        off = added_row(
            f"bearer RS256 request via {kind}, cache off",
            f"a token never seen, through authplug.{host_name}.AuthMiddleware (jwt)",
            floor,
            t,
            alone="alone",
            subject="authplug_cold",
            floor="floor",
            limit=1.1,
        )
        on = added_row(
            f"bearer RS256 request via {kind}, cache hit",
            f"the same token again (verified-token cache), authplug.{host_name}.AuthMiddleware",
            floor + " + a dict keyed by the exact token, exp checked per hit",
            t,
            alone="alone",
            subject="authplug",
            floor="floor_cached",
            limit=1.5,
        )
        off.headline = on.headline = True
        rows.extend((off, on))
    return rows


def run(plan: Plan) -> list[Row]:
    """Every JWT row (skipped when authplug-jwt is not installed)."""
    try:
        import authplug_jwt.provider  # noqa: F401
    except ImportError as exc:
        reason = f"authplug-jwt not importable: {exc}"
        rows = [
            skip_row(f"JWT cold {alg}", "JwtProvider.verify", "python-jose", "<= 1.2x", reason)
            for alg in ALGORITHMS
        ]
        rows.append(skip_row("JWT repeated token (cache)", "", "-", "<= 10 us", reason))
        return rows
    rows = []
    for alg in ALGORITHMS:
        try:
            rows.append(cold_row(alg, plan))
        except Exception as exc:
            rows.append(
                skip_row(f"JWT cold {alg}", "", "", "<= 1.2x", f"{type(exc).__name__}: {exc}")
            )
    try:
        rows.append(repeat_row(plan))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        rows.append(skip_row("JWT repeated token (cache)", "", "-", "<= 10 us", reason))
    try:
        rows.extend(bearer_request_rows(plan))
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        rows.append(skip_row("bearer RS256 requests", "", "", "<= 1.1x", reason))
    return rows
