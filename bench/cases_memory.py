"""Memory rows: RSS growth over 100,000 session requests and 100,000 distinct JWTs.

Each runs in a fresh child process (``python bench/cases_memory.py --child
KIND N``) that reads its resident set size from ``/proc/self/status`` at the
start, half-way and at the end, after a full garbage collection. Growth must
be bounded by the configured caches: sessions have no server-side cache, so
only allocator slack is allowed; the JWT cache is configured to
:data:`JWT_CACHE_ENTRIES` entries and :data:`JWT_CACHE_BYTES` bytes, so once it
is full (before half-way) the second half must add next to nothing.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["JWT_CACHE_BYTES", "JWT_CACHE_ENTRIES", "rss_bytes", "run"]

JWT_CACHE_ENTRIES = 10_000
JWT_CACHE_BYTES = 16 * 1024 * 1024
SLACK_BYTES = 16 * 1024 * 1024
"""Growth allowed besides the caches (allocator arenas, interned strings, code warm-up)."""
SECOND_HALF_BYTES = 4 * 1024 * 1024
"""Growth allowed between half-way and the end, when every cache is already full."""
_HERE = Path(__file__).resolve()
_MB = 1024 * 1024


def rss_bytes() -> int:
    """This process's resident set size (Linux ``/proc``), after a full collection."""
    gc.collect()
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def _sessions(n: int) -> dict[str, Any]:
    """``n`` requests, each with a new session, through the ASGI host (or the manager)."""
    import asyncio

    from apps import asgi_driver, starlette_app
    from workload import make_workload

    w = make_workload()
    sessions = w.host.sessions
    try:
        from authplug.asgi import AuthMiddleware

        app: Any = AuthMiddleware(starlette_app(), host=w.host)
        path = "authplug.asgi.AuthMiddleware"
    except ImportError:
        app = None
        path = "SessionManager.read"
    loop = asyncio.new_event_loop()
    user = w.session.user
    marks = []

    def one(i: int) -> None:
        now = time.time()
        session = sessions.new_session(user, now)
        cookie = sessions.write(session)[0]
        pair = f"{cookie.name}={cookie.value}".encode()
        headers = [(b"accept", b"application/json"), (b"cookie", pair)]
        if app is None:
            if sessions.read(headers, now).session is None:
                raise RuntimeError("session did not open")
        else:
            _, checked = asgi_driver(app, headers, loop)
            if checked[0] != 200:
                raise RuntimeError(f"status {checked[0]}")

    one(0)
    marks.append(rss_bytes())
    for i in range(n):
        one(i)
        if i + 1 == n // 2:
            marks.append(rss_bytes())
    marks.append(rss_bytes())
    loop.close()
    return {"marks": marks, "path": path, "bound": SLACK_BYTES}


def _jwts(n: int) -> dict[str, Any]:
    """``n`` distinct HS256 tokens through ``JwtProvider.authenticate`` (cache on)."""
    from cases_jwt import make_provider
    from jwt_keys import make_issuer

    from authplug.request import AuthRequest

    issuer = make_issuer("HS256")
    provider = make_provider(issuer, cache_size=JWT_CACHE_ENTRIES, cache_max_bytes=JWT_CACHE_BYTES)

    def one(i: int) -> None:
        token = issuer.token(sub=f"user-{i}")
        request = AuthRequest(
            method="GET", path="/api/me", headers=[(b"authorization", b"Bearer " + token.encode())]
        )
        provider.authenticate(request)

    one(-1)
    marks = [rss_bytes()]
    for i in range(n):
        one(i)
        if i + 1 == n // 2:
            marks.append(rss_bytes())
    marks.append(rss_bytes())
    cache = provider.cache
    return {
        "marks": marks,
        "path": "JwtProvider.authenticate",
        "bound": JWT_CACHE_BYTES + SLACK_BYTES,
        "cache_entries": len(cache) if cache is not None else 0,
        "cache_bytes": cache.bytes_used if cache is not None else 0,
    }


def _child(kind: str, n: int) -> None:
    sys.path.insert(0, str(_HERE.parent))
    result = _sessions(n) if kind == "sessions" else _jwts(n)
    print(json.dumps(result))


def _row(kind: str, n: int, result: dict[str, Any]) -> Any:
    from harness import Row

    start, half, end = result["marks"]
    growth = end - start
    second = end - half
    passed = growth <= result["bound"] and second <= SECOND_HALF_BYTES
    label = "sessions opened" if kind == "sessions" else "distinct JWTs verified"
    cache = ""
    if kind == "jwts":
        cache = (
            f"; cache {result['cache_entries']} entries, {result['cache_bytes'] / _MB:.1f} MB "
            f"charged (configured {JWT_CACHE_ENTRIES} / {JWT_CACHE_BYTES // _MB} MB)"
        )
    return Row(
        figure=f"memory: {n:,} {label}",
        measured=f"RSS growth over {n:,} requests via {result['path']}",
        baseline="RSS before the first request",
        subject=growth / _MB,
        base=start / _MB,
        ratio=None,
        target=(
            f"<= {result['bound'] // _MB} MB total, <= {SECOND_HALF_BYTES // _MB} MB "
            "in the 2nd half"
        ),
        passed=passed,
        unit="MB",
        note=f"second half {second / _MB:+.1f} MB{cache}",
        extra=result,
    )


def run(plan: Any, *, n: int | None = None) -> list[Any]:
    """The two memory rows (100,000 each; 20,000 with ``--quick``; ``n`` when given)."""
    from harness import skip_row

    if n is None:
        n = 20_000 if plan.quick else 100_000
    rows = []
    for kind in ("sessions", "jwts"):
        if kind == "jwts":
            try:
                import authplug_jwt  # noqa: F401
            except ImportError:
                rows.append(skip_row("memory: JWTs", "", "", "bounded", "authplug-jwt missing"))
                continue
        done = subprocess.run(
            [sys.executable, str(_HERE), "--child", kind, str(n)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            rows.append(skip_row(f"memory: {kind}", "", "", "bounded", done.stderr.strip()[-300:]))
            continue
        rows.append(_row(kind, n, json.loads(done.stdout.strip().splitlines()[-1])))
    return rows


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--child":
    _child(sys.argv[2], int(sys.argv[3]))
