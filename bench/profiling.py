"""Where a session request's time goes: a component breakdown and a cProfile run.

``python bench/profiling.py breakdown`` times each step of authplug's session
request path next to the floor's equivalent, interleaved like every other row
(per-call µs, median and best), with a no-op app behind both middlewares so
only their own cost shows. ``python bench/profiling.py profile asgi|wsgi``
runs 20,000 requests through the middleware in front of the real endpoint
under cProfile and prints the top functions by own time (cProfile inflates
small Python calls; read shares from it, absolute figures from the breakdown).
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apps import _environ, _scope, asgi_driver, flask_app, starlette_app, wsgi_driver
from floor import FloorAsgiMiddleware, FloorWsgiMiddleware, _cookie_value
from harness import Batch, Plan, measure
from workload import Workload, make_workload

__all__ = ["breakdown", "profile"]

_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def _loop(fn: Callable[[], object]) -> Batch:
    def batch(n: int) -> None:
        for _ in range(n):
            fn()

    return batch


def _drive(coro: Any) -> Any:
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("suspended")


async def _noop_app(scope: Any, receive: Any, send: Any) -> None:
    return None


def _noop_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    return []


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


async def _send(message: Any) -> None:
    return None


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
    return None


def breakdown(w: Workload, plan: Plan) -> list[tuple[str, float, float]]:
    """Per-call µs (median, best) of every step, authplug's and the floor's."""
    from authplug.asgi import AuthMiddleware
    from authplug.request import AuthRequest
    from authplug.session import SessionData
    from authplug.session.chunks import read_chunks
    from authplug.session.codec import b64url_decode
    from authplug.wsgi import AuthMiddleware as WsgiMiddleware

    sessions = w.host.sessions
    headers = w.headers
    now = time.time()
    codec = sessions._session_codec
    sealed = w.sealed
    plaintext = codec.open(sealed)[0]  # type: ignore[index]
    cookie_header = headers[3][1]
    needle = w.first_chunk.encode() + b"="
    asgi = AuthMiddleware(_noop_app, host=w.host)
    floor_asgi = FloorAsgiMiddleware(_noop_app, w.raw, w.first_chunk)
    wsgi = WsgiMiddleware(_noop_wsgi, host=w.host)
    floor_wsgi = FloorWsgiMiddleware(_noop_wsgi, w.raw, w.first_chunk)
    environ = _environ(headers)
    lifecycle = asgi.lifecycle
    request = AuthRequest(method="GET", path="/api/me", headers=headers)
    name = sessions.cookie_name.encode()
    subjects = {
        "ASGI middleware, no-op app (authplug)": _loop(
            lambda: _drive(asgi(_scope(headers), _receive, _send))
        ),
        "ASGI middleware, no-op app (floor)": _loop(
            lambda: _drive(floor_asgi(_scope(headers), _receive, _send))
        ),
        "WSGI middleware, no-op app (authplug)": _loop(
            lambda: wsgi(dict(environ), _start_response)
        ),
        "WSGI middleware, no-op app (floor)": _loop(
            lambda: floor_wsgi(dict(environ), _start_response)
        ),
        "Lifecycle.protect": _loop(lambda: _drive(lifecycle.protect(request))),
        "SessionManager.read": _loop(lambda: sessions.read(headers, now)),
        "floor: raw open (b64 + GCM + validate)": _loop(lambda: w.raw.open(sealed)),
        "read_chunks (find + reassemble)": _loop(lambda: read_chunks(headers, name, 5)),
        "floor: find cookie in header": _loop(lambda: _cookie_value(cookie_header, needle)),
        "SessionCodec.open": _loop(lambda: codec.open(sealed)),
        "b64url_decode (strict)": _loop(lambda: b64url_decode(sealed)),
        "floor: translate + a2b_base64": _loop(
            lambda: binascii.a2b_base64(sealed.translate(_TO_STANDARD) + b"=")
        ),
        "SessionData.model_validate_json": _loop(
            lambda: SessionData.model_validate_json(plaintext)
        ),
        "AuthRequest(...)": _loop(
            lambda: AuthRequest(method="GET", path="/api/me", headers=headers)
        ),
        "ASGI scope dict (driver overhead)": _loop(lambda: _scope(headers)),
    }
    t = measure(subjects, plan)
    return [(k, v.median_us, v.best_us) for k, v in t.items()]


def profile(w: Workload, which: str, top: int = 30) -> str:
    """cProfile of 20,000 session requests through ``which`` (``asgi`` or ``wsgi``)."""
    if which == "asgi":
        from authplug.asgi import AuthMiddleware

        loop = asyncio.new_event_loop()
        batch, _ = asgi_driver(AuthMiddleware(starlette_app(), host=w.host), w.headers, loop)
    else:
        from authplug.wsgi import AuthMiddleware as WsgiMiddleware

        batch, _ = wsgi_driver(WsgiMiddleware(flask_app().wsgi_app, host=w.host), w.headers)
    batch(2000)
    profiler = cProfile.Profile()
    profiler.enable()
    batch(20_000)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``breakdown`` or ``profile asgi|wsgi``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["breakdown", "profile"])
    parser.add_argument("host", nargs="?", choices=["asgi", "wsgi"], default="asgi")
    args = parser.parse_args(argv)
    w = make_workload()
    if args.what == "profile":
        print(profile(w, args.host))
        return 0
    print("| step | median µs | best µs |\n|---|---:|---:|")
    for name, median, best in breakdown(w, Plan(rounds=21)):
        print(f"| {name} | {median:.2f} | {best:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
