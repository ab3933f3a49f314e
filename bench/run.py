"""``nox -s bench``: measure authplug against the floor, print the table, write the JSON.

Usage::

    python bench/run.py              # the full suite (under 10 minutes on 2 cores)
    python bench/run.py --quick      # fewer rounds, shorter socket and memory runs
    python bench/run.py --only session,jwt

Every ratio compares figures measured side by side in the same process and
the same run; absolute times on shared machines are noise. The table is
printed as Markdown (paste it into ``docs/performance.md``) and written with
every detail to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from harness import Plan, Row, skip_row  # noqa: E402

CASES = {
    "session": "cases_session",
    "jwt": "cases_jwt",
    "oauth": "cases_oauth",
    "hooks": "cases_hooks",
    "startup": "cases_startup",
    "memory": "cases_memory",
    "socket": "cases_socket",
    "workers": "cases_workers",
}
LIBRARIES = (
    "authplug",
    "authplug-mock",
    "authplug-jwt",
    "authplug-oauth",
    "cryptography",
    "pydantic",
    "pydantic-core",
    "pluggy",
    "python-jose",
    "starlette",
    "flask",
    "uvicorn",
    "uvloop",
    "httptools",
    "psycopg",
    "psycopg-pool",
    "redis",
)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| figure | measured | baseline | authplug | baseline | unit | ratio | target | result |",
        "|---|---|---|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}x"
        lines.append(
            f"| {r.figure} | {r.measured} | {r.baseline} | {_fmt(r.subject)} | {_fmt(r.base)} "
            f"| {r.unit} | {ratio} | {r.target} | **{r.verdict}** |"
        )
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def run_cases(names: Sequence[str], plan: Plan) -> list[Row]:
    """Run the named case modules in order; a crashing module becomes a skipped row."""
    rows: list[Row] = []
    for name in names:
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(CASES[name])
            rows.extend(module.run(plan))
        except Exception as exc:
            traceback.print_exc()
            rows.append(skip_row(name, "", "", "-", f"{type(exc).__name__}: {exc}"))
        print(
            f"[bench] {name} done in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; exit 0 even when a target is missed (the table is the verdict)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter runs")
    parser.add_argument(
        "--only", default=",".join(CASES), help=f"comma-separated subset of {', '.join(CASES)}"
    )
    parser.add_argument(
        "--json", type=Path, default=BENCH / "results" / "latest.json", help="where to write"
    )
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}")
    plan = Plan.for_mode(args.quick)
    started = time.perf_counter()
    rows = run_cases(names, plan)
    elapsed = time.perf_counter() - started
    headline = [r for r in rows if r.headline]
    if headline:
        print("Headline rows (like for like, measured in this run):\n")
        print(table(headline))
        print("\nEvery row:\n")
    print(table(rows))
    missed = [r.figure for r in rows if r.verdict == "MISS"]
    print(
        f"\n{len(rows)} rows in {elapsed:.0f} s: "
        f"{sum(r.verdict == 'PASS' for r in rows)} pass, {len(missed)} miss, "
        f"{sum(r.verdict == 'SKIP' for r in rows)} skipped, "
        f"{sum(r.verdict == 'UNMEASURABLE' for r in rows)} unmeasurable"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": plan.quick,
        "rounds": plan.rounds,
        "seconds": elapsed,
        "python": sys.version,
        "platform": platform.platform(),
        "cpus": __import__("os").cpu_count(),
        "versions": _versions(),
        "rows": [r.as_dict() for r in rows],
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
