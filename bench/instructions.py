"""Headline ratios in machine instructions (callgrind): a figure a busy machine cannot blur.

``python bench/instructions.py`` runs each variant of the headline rows (the
session and bearer requests, ASGI and WSGI: authplug, its floor, the app
alone) under ``valgrind --tool=callgrind`` and prints the added instructions
per request and their ratio, as the timed rows do with microseconds. Every
variant builds fresh header values per request (as a server does), and the
app behind the middleware does nothing, so only the middleware's own work
counts. Instrumentation is switched on (``callgrind_control -i on``) only
around the measured loop; the count of a run with 0 requests is subtracted.

Instructions are not time: the floors spend most of theirs in C (base64,
AES-GCM, pydantic-core), which retires more instructions per cycle than the
interpreter running authplug's Python checks, so a time ratio comes out
above the instruction ratio. What this adds is a figure that does not move
with the machine's load: use it to compare changes, the timed rows to judge
targets. Needs ``valgrind`` (Debian package); takes a few minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

__all__ = ["ROWS", "count", "main"]

ROWS = {
    "session, cache off": ("cold", "floor"),
    "session, cache on": ("hot", "floor_cached"),
    "bearer, cache off": ("bearer_cold", "bearer_floor"),
    "bearer, cache hit": ("bearer", "bearer_floor_cached"),
}
"""Headline row -> (authplug variant, floor variant); each is measured on both hosts."""


async def _noop_asgi(scope: Any, receive: Any, send: Any) -> None:
    return None


def _noop_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    return [b""]


def _variant(kind: str, name: str) -> tuple[Callable[[], None], Any]:
    """One request of ``name`` through the ``kind`` host, and the middleware.

    ``alone`` and ``bearer_alone`` are the bare app with the session and the
    bearer variants' headers: each row subtracts the one its variants share.
    """
    from floor import FloorAsgiMiddleware, FloorWsgiMiddleware, OpenedCache
    from workload import bench_config, make_workload

    from authplug.asgi import AuthMiddleware as Asgi
    from authplug.host import PluginInfo, build_host
    from authplug.wsgi import AuthMiddleware as Wsgi

    w = make_workload()
    app: Any = _noop_asgi if kind == "asgi" else _noop_wsgi
    auth = Asgi if kind == "asgi" else Wsgi
    headers = list(w.headers)
    if name.startswith("bearer"):
        from cases_jwt import make_provider
        from floor_bearer import BearerAsgiFloor, BearerWsgiFloor, TokenUsers
        from jwt_keys import make_issuer

        issuer = make_issuer("RS256")
        token = issuer.token(sub="bench-user").encode()
        headers = [(b"accept", b"application/json"), (b"authorization", b"Bearer " + token)]

        def jwt_host(**settings: Any) -> Any:
            provider = make_provider(issuer, **settings)
            config = bench_config(secrets.token_bytes(32))
            return build_host(provider, config, provider_info=PluginInfo(name="jwt"))

        floor = BearerAsgiFloor if kind == "asgi" else BearerWsgiFloor
        table: dict[str, Callable[[], Any]] = {
            "bearer": lambda: auth(app, host=jwt_host()),
            "bearer_cold": lambda: auth(app, host=jwt_host(cache_size=0)),
            "bearer_floor": lambda: floor(app, TokenUsers(issuer.jose_decode, cache=False)),
            "bearer_floor_cached": lambda: floor(app, TokenUsers(issuer.jose_decode, cache=True)),
            "bearer_alone": lambda: app,
        }
    else:
        from cases_session import _cold_host

        session_floor = FloorAsgiMiddleware if kind == "asgi" else FloorWsgiMiddleware
        cache = OpenedCache(w.raw, float(w.host.config.absolute_lifetime))
        table = {
            "hot": lambda: auth(app, host=w.host),
            "cold": lambda: auth(app, host=_cold_host(w)),
            "floor": lambda: session_floor(app, w.raw, w.first_chunk),
            "floor_cached": lambda: session_floor(app, w.raw, w.first_chunk, cache),
        }
    table.setdefault("alone", lambda: app)
    middleware = table[name]()
    if kind == "asgi":
        return _asgi_request(middleware, headers), middleware
    return _wsgi_request(middleware, headers), middleware


def _asgi_request(app: Any, headers: list[tuple[bytes, bytes]]) -> Callable[[], None]:
    from apps import _fresh, _scope

    def one() -> None:
        with contextlib.suppress(StopIteration):  # the app never awaits: one step ends it
            app(_scope(_fresh(headers)), None, None).send(None)

    return one


def _wsgi_request(app: Any, headers: list[tuple[bytes, bytes]]) -> Callable[[], None]:
    from apps import _environ, _environ_headers

    template = _environ([])
    items = _environ_headers(headers)

    def one() -> None:
        environ = dict(template)
        for key, raw in items:
            environ[key] = raw.decode("latin-1")
        app(environ, None)

    return one


def _child(kind: str, name: str, n: int) -> None:
    """Run inside valgrind: warm up, switch instrumentation on, run ``n`` requests."""
    one, _ = _variant(kind, name)
    for _ in range(50):
        one()
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True)
    for _ in range(n):
        one()


def count(kind: str, name: str, n: int = 300) -> int:
    """Instructions per request of variant ``name`` through host ``kind``."""

    def collected(requests: int) -> int:
        result = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                __file__,
                "--child",
                kind,
                name,
                str(requests),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"Collected : (\d+)", result.stderr)
        if match is None:
            raise RuntimeError(f"callgrind printed no count for {kind}/{name}")
        return int(match.group(1))

    return (collected(n) - collected(0)) // n


def main(argv: list[str] | None = None) -> int:
    """Print the instruction table of the headline rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("KIND", "VARIANT", "N"))
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    if args.child:
        kind, name, n = args.child
        _child(kind, name, int(n))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    jobs = [(kind, name) for kind in ("asgi", "wsgi") for pair in ROWS.values() for name in pair]
    jobs += [(kind, alone) for kind in ("asgi", "wsgi") for alone in ("alone", "bearer_alone")]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        counts = dict(zip(jobs, pool.map(lambda j: count(*j, args.requests), jobs), strict=True))
    print("| row | host | authplug added | floor added | ratio |")
    print("|---|---|---:|---:|---:|")
    for row, (subject, floor) in ROWS.items():
        for kind in ("asgi", "wsgi"):
            alone = counts[(kind, "bearer_alone" if subject.startswith("bearer") else "alone")]
            ours, theirs = counts[(kind, subject)] - alone, counts[(kind, floor)] - alone
            print(f"| {row} | {kind} | {ours:,} | {theirs:,} | {ours / theirs:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
