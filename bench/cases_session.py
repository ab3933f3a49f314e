"""Session rows: cookie open and seal against the raw chain, and a session request
through the ASGI (Starlette) and WSGI (Flask) hosts against the floor middleware.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

from apps import asgi_driver, asgi_timed, flask_app, starlette_app, wsgi_driver, wsgi_timed
from floor import FloorAsgiMiddleware, FloorWsgiMiddleware, OpenedCache
from harness import Plan, Row, Timed, added_row, measure, measure_interleaved, ratio_row, skip_row
from workload import USER_ID, Workload, make_workload

__all__ = ["run"]


def codec_rows(w: Workload, plan: Plan) -> list[Row]:
    """Cookie open and seal: authplug's codec against the raw chain."""
    from authplug.session import SessionCodec, SessionData

    codec = SessionCodec(w.host.sessions.keyring, f"session:{w.host.sessions.cookie_name}")
    sessions = w.host.sessions
    sealed, raw, session = w.sealed, w.raw, w.session
    headers = w.headers
    cold_sessions = make_workload(session_cache_size=0).host.sessions
    (cold_cookie,) = cold_sessions.write(session)
    cold_headers = [(b"cookie", f"{cold_cookie.name}={cold_cookie.value}".encode())]
    now = time.time()
    opened = codec.open(sealed)
    if opened is None or SessionData.model_validate_json(opened[0]) != session:
        raise RuntimeError("SessionCodec does not open the workload's cookie")
    if sessions.read(headers, now).session != session:
        raise RuntimeError("SessionManager.read does not find the workload's session")

    def subject_open(n: int) -> None:
        validate = SessionData.model_validate_json
        for _ in range(n):
            result = codec.open(sealed)
            validate(result[0])  # type: ignore[index]

    def raw_open(n: int) -> None:
        for _ in range(n):
            raw.open(sealed)

    def manager_read(n: int) -> None:
        for _ in range(n):
            sessions.read(headers, now)

    def manager_read_cold(n: int) -> None:
        for _ in range(n):
            cold_sessions.read(cold_headers, now)

    def subject_seal(n: int) -> None:
        for _ in range(n):
            codec.seal(session.model_dump_json().encode("utf-8"))

    def raw_seal(n: int) -> None:
        for _ in range(n):
            raw.seal(session)

    def manager_write(n: int) -> None:
        for _ in range(n):
            sessions.write(session)

    if cold_sessions.read(cold_headers, now).session is None:
        raise RuntimeError("the cache-off manager does not open its own cookie")
    t = measure(
        {
            "read": manager_read,
            "read_cold": manager_read_cold,
            "open": subject_open,
            "raw_open": raw_open,
        },
        plan,
    )
    s = measure({"write": manager_write, "seal": subject_seal, "raw_seal": raw_seal}, plan)
    return [
        ratio_row(
            "session cookie open (codec)",
            "SessionCodec.open + SessionData.model_validate_json, 1.5 KB user",
            "raw b64url (binascii) + reused AESGCM.decrypt + model_validate_json",
            t["open"],
            t["raw_open"],
            1.15,
        ),
        _info(
            ratio_row(
                "session read (manager)",
                "SessionManager.read, cookie seen before: header scan, cache hit, lifetimes",
                "the raw chain above (no header scan, no checks)",
                t["read"],
                t["raw_open"],
                1.25,
            )
        ),
        _info(
            ratio_row(
                "session read (manager, cache off)",
                "SessionManager.read, session_cache_size=0: scan, open, validate, lifetimes",
                "the raw chain above (no header scan, no checks)",
                t["read_cold"],
                t["raw_open"],
                1.25,
            )
        ),
        ratio_row(
            "session seal (codec)",
            "model_dump_json + SessionCodec.seal",
            "raw model_dump_json + AESGCM.encrypt (fresh nonce) + b64url",
            s["seal"],
            s["raw_seal"],
            1.15,
        ),
        _info(
            ratio_row(
                "session write (manager)",
                "SessionManager.write: seal, chunk, ResponseCookie",
                "the raw seal above",
                s["write"],
                s["raw_seal"],
                1.25,
            )
        ),
    ]


def _info(row: Row) -> Row:
    """Make ``row`` informational (no target of its own in the issue)."""
    row.target = "report"
    row.passed = None
    return row


def _check(name: str, checked: tuple[int, bytes], expect: str | None) -> None:
    status, body = checked
    if status != 200:
        raise RuntimeError(f"{name}: status {status}, body {body[:200]!r}")
    got = json.loads(body)["user"]
    if got != expect:
        raise RuntimeError(f"{name}: endpoint saw user {got!r}, expected {expect!r}")


def _added(
    figure: str, measured: str, baseline: str, t: Any, subject: str, floor: str, limit: float
) -> Row:
    return added_row(
        figure, measured, baseline, t, alone="alone", subject=subject, floor=floor, limit=limit
    )


HIT_VARIANTS = ("authplug", "floor_cached", "alone")
"""The variants of the cache-on row, timed one request at a time (few us added)."""


def _request_rows(
    host_name: str,
    variants: dict[str, Any],
    drive: Callable[[Any], tuple[Callable[[int], object], tuple[int, bytes]]],
    timed: Callable[[dict[str, Any]], Timed],
    plan: Plan,
) -> list[Row]:
    """Check each variant answers with the right user, time them interleaved, compare.

    Batch rounds, interleaved: the endpoint alone, the floor, authplug with
    and without its opened-session cache, and the floor decoding base64 with
    pybase64 as authplug does. The cache-on row adds a few microseconds,
    less than a batch round's noise, so its variants (:data:`HIT_VARIANTS`:
    the endpoint alone, the caching floor, authplug with its cache) are
    timed one request at a time (:func:`harness.measure_interleaved`) and
    the row is computed from those. The headline rows compare like with
    like: cache off against the floor, cache on against the caching floor;
    the "same decoder" row shows what authplug's checks cost beyond a floor
    that decodes as fast as it does.
    """
    batches = {}
    for name, variant in variants.items():
        batch, checked = drive(variant)
        _check(f"{host_name}/{name}", checked, None if name == "alone" else USER_ID)
        batches[name] = batch
    # the caching floor's batch figure would be unused: its row is computed from ``hits``
    t = measure({name: b for name, b in batches.items() if name != "floor_cached"}, plan)
    hits = measure_interleaved(
        timed({name: variants[name] for name in HIT_VARIANTS}), HIT_VARIANTS, plan
    )
    through = f"through authplug.{host_name.split()[0].lower()}.AuthMiddleware"
    floor = (
        f"same endpoint behind the floor {host_name.split()[0]} middleware (b64 + GCM + validate)"
    )
    rows = [
        _added(
            f"session request via {host_name}, cache off",
            f"GET /api/me with a cookie this process has not opened, {through}",
            floor,
            t,
            "authplug_cold",
            "floor",
            1.25,
        ),
        _added(
            f"session request via {host_name}, cache on",
            f"GET /api/me with a cookie seen before (opened-session cache), {through}",
            floor + " + a dict of opened cookies, expiry checked per hit",
            hits,
            "authplug",
            "floor_cached",
            1.5,
        ),
        _info(
            _added(
                f"session request via {host_name}, cache off, same decoder",
                f"the cache-off request above, {through}",
                floor + ", base64 decoded with pybase64 as authplug does",
                t,
                "authplug_cold",
                "floor_simd",
                1.25,
            )
        ),
        _info(
            _added(
                f"request via {host_name}",
                f"authplug with its cache on, {through}",
                floor + " (no cache: not like for like)",
                t,
                "authplug",
                "floor",
                1.25,
            )
        ),
    ]
    rows[0].headline = rows[1].headline = True
    return rows


def _cold_host(w: Workload) -> Any:
    """A host like the workload's (same key, same cookie) with the opened-session cache off."""
    from workload import mock_provider

    from authplug.host import PluginInfo, build_host

    config = w.host.config.model_copy(update={"session_cache_size": 0})
    cold = build_host(mock_provider(), config, provider_info=PluginInfo(name="mock"))
    if cold.sessions.read(w.headers, time.time()).session is None:
        raise RuntimeError("the cache-off host does not open the workload's cookie")
    return cold


def _floor_cache(w: Workload) -> OpenedCache:
    return OpenedCache(w.raw, float(w.host.config.absolute_lifetime))


def asgi_rows(w: Workload, plan: Plan) -> list[Row]:
    """Session requests through ``authplug.asgi.AuthMiddleware`` in front of Starlette."""
    from authplug.asgi import AuthMiddleware

    app = starlette_app()
    variants: dict[str, Any] = {
        "authplug_cold": AuthMiddleware(app, host=_cold_host(w)),
        "authplug": AuthMiddleware(app, host=w.host),
        "floor": FloorAsgiMiddleware(app, w.raw, w.first_chunk),
        "floor_simd": FloorAsgiMiddleware(app, w.raw.with_simd_base64(), w.first_chunk),
        "floor_cached": FloorAsgiMiddleware(app, w.raw, w.first_chunk, _floor_cache(w)),
        "alone": app,
    }
    loop = asyncio.new_event_loop()
    try:
        return _request_rows(
            "ASGI (Starlette)",
            variants,
            lambda variant: asgi_driver(variant, w.headers, loop),
            lambda chosen: asgi_timed({k: (v, w.headers) for k, v in chosen.items()}, loop),
            plan,
        )
    finally:
        loop.close()


def wsgi_rows(w: Workload, plan: Plan) -> list[Row]:
    """Session requests through ``authplug.wsgi.AuthMiddleware`` in front of Flask."""
    from authplug.wsgi import AuthMiddleware

    app = flask_app()
    variants: dict[str, Any] = {
        "authplug_cold": AuthMiddleware(app.wsgi_app, host=_cold_host(w)),
        "authplug": AuthMiddleware(app.wsgi_app, host=w.host),
        "floor": FloorWsgiMiddleware(app.wsgi_app, w.raw, w.first_chunk),
        "floor_simd": FloorWsgiMiddleware(app.wsgi_app, w.raw.with_simd_base64(), w.first_chunk),
        "floor_cached": FloorWsgiMiddleware(app.wsgi_app, w.raw, w.first_chunk, _floor_cache(w)),
        "alone": app.wsgi_app,
    }
    return _request_rows(
        "WSGI (Flask)",
        variants,
        lambda v: wsgi_driver(v, w.headers),
        lambda chosen: wsgi_timed({k: (v, w.headers) for k, v in chosen.items()}),
        plan,
    )


def run(plan: Plan) -> list[Row]:
    """Every session row: the codec, then the request rows of both hosts."""
    w = make_workload()
    rows = codec_rows(w, plan)
    for make in (asgi_rows, wsgi_rows):
        try:
            rows.extend(make(w, plan))
        except Exception as exc:  # one broken host must not hide the other rows
            rows.append(skip_row(make.__name__, "", "", "<= 1.25x", f"{type(exc).__name__}: {exc}"))
    return rows
