"""Throughput over a real socket: uvicorn on 127.0.0.1, ``wrk`` from a second process.

One uvicorn process per server flavour (``h11`` on asyncio; ``httptools`` on
``uvloop`` when both are installed) serves three variants of the same
Starlette endpoint side by side, chosen by path prefix:

* ``/p/api/me``: the app without auth;
* ``/f/api/me``: behind the floor pure-ASGI cookie middleware;
* ``/a/api/me``: behind ``authplug.asgi.AuthMiddleware``.

``wrk`` (1 thread, 50 connections) loads each variant in turn, several
rounds, with the session cookie. Reported: median req/s, p99 latency and the
server's CPU time per request (from ``/proc``, steadier than req/s on a shared
machine). Run as ``python bench/cases_socket.py --serve PORT LOOP HTTP`` it
is the server: it prints the Cookie header on its first line, then serves.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["FLAVOURS", "ensure_wrk", "run"]

_HERE = Path(__file__).resolve()
FLAVOURS = (("h11", "asyncio", "h11", 0.8), ("httptools+uvloop", "uvloop", "httptools", 0.7))
VARIANTS = {"p": "no auth", "f": "floor middleware", "a": "authplug"}
CONNECTIONS = 50
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def ensure_wrk() -> str | None:
    """The path of ``wrk``; installed from Debian when missing and running as root.

    :returns: ``None`` when it is missing and cannot be installed (the reason
        is then in the skipped row).
    """
    found = shutil.which("wrk")
    if found or not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "install", "-y", "-q", "wrk"], ["apt-get", "update", "-q"]):
        subprocess.run(argv, env=env, capture_output=True, check=False, timeout=300)
        if argv[1] == "update":
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "wrk"],
                env=env,
                capture_output=True,
                check=False,
                timeout=300,
            )
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


# -- the server (child process) ------------------------------------------------


def _serve(port: int, loop: str, http: str) -> None:
    sys.path.insert(0, str(_HERE.parent))
    import uvicorn
    from apps import starlette_app
    from floor import FloorAsgiMiddleware
    from workload import make_workload

    from authplug.asgi import AuthMiddleware

    w = make_workload()
    inner = starlette_app()
    variants = {
        "/p": inner,
        "/f": FloorAsgiMiddleware(inner, w.raw, w.first_chunk),
        "/a": AuthMiddleware(inner, host=w.host),
    }

    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        app = variants[scope["path"][:2]]
        scope = dict(scope)
        scope["path"] = scope["path"][2:]
        await app(scope, receive, send)

    print(json.dumps({"cookie": w.cookies}), flush=True)
    uvicorn.run(
        dispatch,
        host="127.0.0.1",
        port=port,
        loop=loop,
        http=http,
        lifespan="off",
        access_log=False,
        log_level="warning",
    )


# -- the client (this process) -------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _parse_wrk(text: str) -> tuple[float, float, int]:
    """req/s, p99 in ms, and the request count from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in text or ("Socket errors" in text and "timeout" in text):
        raise RuntimeError(f"wrk saw errors: {text[-300:]}")
    return rps, float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else float("nan"), total


def _load(
    wrk: str, port: int, prefix: str, cookie: str, seconds: float, pid: int
) -> dict[str, float]:
    cpu0 = _cpu_seconds(pid)
    done = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds:g}s",
            "--latency",
            "-H",
            f"Cookie: {cookie}",
            "-H",
            "Accept: application/json",
            f"http://127.0.0.1:{port}{prefix}/api/me",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    )
    cpu = _cpu_seconds(pid) - cpu0
    rps, p99, total = _parse_wrk(done.stdout)
    return {"rps": rps, "p99_ms": p99, "cpu_us": cpu / max(total, 1) * 1e6}


def _check(port: int, prefix: str, cookie: str) -> None:
    import httpx

    response = httpx.get(
        f"http://127.0.0.1:{port}{prefix}/api/me",
        headers={"Cookie": cookie, "Accept": "application/json"},
    )
    user = response.json().get("user") if response.status_code == 200 else None
    expected = None if prefix == "/p" else "bench-user"
    if response.status_code != 200 or user != expected:
        raise RuntimeError(f"{prefix}: status {response.status_code}, user {user!r}")


def _flavour(
    wrk: str, loop: str, http: str, rounds: int, seconds: float
) -> dict[str, list[dict[str, float]]]:
    port = _free_port()
    with subprocess.Popen(
        [sys.executable, str(_HERE), "--serve", str(port), loop, http],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        return _drive(proc, wrk, port, rounds, seconds)


def _drive(
    proc: subprocess.Popen[str], wrk: str, port: int, rounds: int, seconds: float
) -> dict[str, list[dict[str, float]]]:
    """Check each variant answers as expected, warm up, then load them in turn."""
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        if not first:
            raise RuntimeError(f"server failed: {proc.stderr.read()[-400:] if proc.stderr else ''}")
        cookie = json.loads(first)["cookie"]
        _wait_listening(port, proc)
        results: dict[str, list[dict[str, float]]] = {k: [] for k in VARIANTS}
        for prefix in VARIANTS:
            _check(port, f"/{prefix}", cookie)
            _load(wrk, port, f"/{prefix}", cookie, 1, proc.pid)  # warm-up
        for r in range(rounds):
            order = list(VARIANTS)
            order = order[r % 3 :] + order[: r % 3]
            for prefix in order:
                results[prefix].append(_load(wrk, port, f"/{prefix}", cookie, seconds, proc.pid))
        return results
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def run(plan: Any) -> list[Any]:
    """One row per server flavour."""
    from harness import Row, skip_row

    rows = []
    wrk = ensure_wrk()
    for name, loop, http, limit in FLAVOURS:
        figure = f"socket throughput ({name})"
        measured = f"uvicorn {name}, wrk -c{CONNECTIONS}, authplug.asgi.AuthMiddleware"
        baseline = "the same app without auth, same server process"
        target = f">= {limit:g}x req/s"
        if wrk is None:
            rows.append(
                skip_row(
                    figure,
                    measured,
                    baseline,
                    target,
                    "wrk missing and not root: apt-get install wrk",
                )
            )
            continue
        missing = [m for m in ({loop, http} - {"asyncio", "h11"}) if _missing(m)]
        if missing:
            rows.append(
                skip_row(figure, measured, baseline, target, f"{', '.join(missing)} not installed")
            )
            continue
        try:
            results = _flavour(wrk, loop, http, 1 if plan.quick else 3, 2 if plan.quick else 4)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            rows.append(skip_row(figure, measured, baseline, target, reason))
            continue
        med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in results.items()}
        ratio = med["a"]["rps"] / med["p"]["rps"]
        floor_ratio = med["f"]["rps"] / med["p"]["rps"]
        rows.append(
            Row(
                figure=figure,
                measured=measured,
                baseline=baseline,
                subject=med["a"]["rps"],
                base=med["p"]["rps"],
                ratio=ratio,
                target=target,
                passed=ratio >= limit,
                unit="req/s",
                note=(
                    f"floor {floor_ratio:.2f}x; p99 {med['a']['p99_ms']:.1f} / "
                    f"{med['f']['p99_ms']:.1f} / {med['p']['p99_ms']:.1f} ms "
                    "(authplug/floor/none); "
                    f"server CPU/req {med['a']['cpu_us']:.0f} / {med['f']['cpu_us']:.0f} / "
                    f"{med['p']['cpu_us']:.0f} us"
                ),
                extra={"median": med, "rounds": results},
            )
        )
    return rows


def _missing(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is None


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "--serve":
    _serve(int(sys.argv[2]), sys.argv[3], sys.argv[4])
