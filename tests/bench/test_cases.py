"""Smoke test: every case runs with tiny iteration counts and yields numeric rows.

No timing is asserted: the targets are read from ``nox -s bench``'s output.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _assert_measured(rows: list[Any], *, ratio: bool = True) -> None:
    """Every case ran and reported: never a timing assertion (issue #13, item 11).

    A ratio is a number, or the row says it was unmeasurable in this run (a
    busy machine can make a baseline's added cost come out at zero); never
    ``inf`` or NaN.
    """
    assert rows
    for row in rows:
        assert row.verdict != "SKIP", f"{row.figure}: {row.note}"
        assert _numeric(row.subject), row.figure
        if ratio:
            if row.unmeasurable:
                assert row.ratio is None, row.figure
                assert row.verdict == "UNMEASURABLE"
                assert "unmeasurable" in row.note
            else:
                assert _numeric(row.ratio), row.figure
        json.dumps(row.as_dict(), allow_nan=False)


def test_session_rows(tiny_plan: Any) -> None:
    import cases_session

    rows = cases_session.run(tiny_plan)
    assert [r.figure for r in rows] == [
        "session cookie open (codec)",
        "session read (manager)",
        "session read (manager, cache off)",
        "session seal (codec)",
        "session write (manager)",
        "session request via ASGI (Starlette), cache off",
        "session request via ASGI (Starlette), cache on",
        "session request via ASGI (Starlette), cache off, same decoder",
        "request via ASGI (Starlette)",
        "session request via WSGI (Flask), cache off",
        "session request via WSGI (Flask), cache on",
        "session request via WSGI (Flask), cache off, same decoder",
        "request via WSGI (Flask)",
    ]
    assert [r.figure for r in rows if r.headline] == [
        "session request via ASGI (Starlette), cache off",
        "session request via ASGI (Starlette), cache on",
        "session request via WSGI (Flask), cache off",
        "session request via WSGI (Flask), cache on",
    ]
    _assert_measured(rows)


def test_jwt_rows(tiny_plan: Any) -> None:
    import cases_jwt

    rows = cases_jwt.run(tiny_plan)
    _assert_measured(rows[:3])
    _assert_measured(rows[3:4], ratio=False)
    _assert_measured(rows[4:])
    assert [r.figure for r in rows if r.headline] == [
        "bearer RS256 request via ASGI (Starlette), cache off",
        "bearer RS256 request via ASGI (Starlette), cache hit",
        "bearer cache hit vs session cache hit via ASGI (Starlette)",
        "bearer RS256 request via WSGI (Flask), cache off",
        "bearer RS256 request via WSGI (Flask), cache hit",
        "bearer cache hit vs session cache hit via WSGI (Flask)",
    ]


def test_oauth_rows(tiny_plan: Any) -> None:
    import cases_oauth

    _assert_measured(cases_oauth.run(tiny_plan))


def test_hook_rows(tiny_plan: Any) -> None:
    import cases_hooks

    _assert_measured(cases_hooks.run(tiny_plan))


def test_providers_wall_time_row() -> None:
    import cases_startup

    row = cases_startup.providers_row(runs=1)
    _assert_measured([row], ratio=False)
    assert row.base is not None
    assert row.base > 0


@pytest.mark.parametrize("provider", ["mock", "jwt"])
def test_loading_one_provider_imports_no_other_provider(provider: str) -> None:
    import cases_startup

    probe = cases_startup.probe_load(provider)
    assert "error" not in probe, probe.get("error")
    assert probe["packages"] == [cases_startup.PROVIDER_PACKAGES[provider]]


def test_loading_the_mock_imports_no_jwt_or_http_library() -> None:
    import cases_startup

    probe = cases_startup.probe_load("mock")
    assert "error" not in probe, probe.get("error")
    assert not {"jose", "httpx", "saml2"} & set(probe["heavy"])


def test_memory_rows(tiny_plan: Any) -> None:
    import cases_memory

    rows = cases_memory.run(tiny_plan, n=200)
    _assert_measured(rows, ratio=False)
    assert all(len(r.extra["marks"]) == 3 for r in rows)


@pytest.mark.server
def test_socket_flavour_serves_every_variant() -> None:
    import cases_socket

    wrk = shutil.which("wrk")
    if wrk is None:
        if os.environ.get("WRK_REQUIRED") == "1":  # scripts/test installs it
            pytest.fail("wrk is not installed, but this run requires it (scripts/test installs it)")
        pytest.skip("wrk is not installed (apt-get install wrk)")
    results = cases_socket._flavour(wrk, "asyncio", "h11", rounds=1, seconds=1)
    assert set(results) == {"p", "f", "a"}
    for runs in results.values():
        assert _numeric(runs[0]["rps"])
        assert runs[0]["rps"] > 0


def test_run_writes_the_table_and_the_json(tmp_path: Path, capsys: Any) -> None:
    import run

    target = tmp_path / "latest.json"
    assert run.main(["--quick", "--only", "hooks", "--json", str(target)]) == 0
    printed = capsys.readouterr().out
    assert "| hook dispatch (pluggy) |" in printed
    report = json.loads(target.read_text())
    assert report["quick"] is True
    assert [r["figure"] for r in report["rows"]] == [
        "hook dispatch (pluggy)",
        "hook dispatch (hookcalls)",
    ]


def test_run_rejects_an_unknown_case() -> None:
    import run

    with pytest.raises(SystemExit):
        run.main(["--only", "nope"])


WRK_OUTPUT = """Running 4s test @ http://127.0.0.1:8000/a/api/me
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.62ms    1.20ms  20.01ms   90.00%
    Req/Sec     6.61k   400.00     7.00k    70.00%
  Latency Distribution
     50%    7.50ms
     75%    8.00ms
     90%    8.50ms
     99%   12.30ms
  26400 requests in 4.00s, 3.60MB read
Requests/sec:   6601.20
Transfer/sec:    920.00KB
"""


def test_wrk_output_is_parsed_into_rate_p99_and_count() -> None:
    import cases_socket

    assert cases_socket._parse_wrk(WRK_OUTPUT) == (6601.20, 12.30, 26400)
    micro = WRK_OUTPUT.replace("12.30ms", "950.00us")
    assert cases_socket._parse_wrk(micro)[1] == pytest.approx(0.95)


def test_wrk_output_with_error_responses_is_refused() -> None:
    import cases_socket

    with pytest.raises(RuntimeError, match="errors"):
        cases_socket._parse_wrk(WRK_OUTPUT + "  Non-2xx or 3xx responses: 12\n")
