"""Start-up rows: ``authplug providers`` wall time, and ``authplug.load()`` per provider.

Both run in fresh child processes (a warm-up run first, so the page cache is
warm for every variant). The load probe also reports which provider packages
and heavy libraries ended up imported: loading one provider must import no
other provider's modules (``tests/bench`` asserts the same).

Run as a script (``python bench/cases_startup.py --probe NAME SETTINGS_JSON``)
it is the probe itself and prints one JSON object.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "HEAVY_LIBRARIES",
    "PROVIDER_PACKAGES",
    "probe_load",
    "probe_settings",
    "run",
]

PROVIDER_PACKAGES = {
    "mock": "authplug_mock",
    "jwt": "authplug_jwt",
    "oauth": "authplug_oauth",
    "saml": "authplug_saml",
}
HEAVY_LIBRARIES = ("jose", "httpx", "saml2", "starlette", "flask")
PROVIDERS_LIMIT_MS = 150.0
RUNS = 5
_HERE = Path(__file__).resolve()


def _cookie_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def probe_settings(provider: str) -> dict[str, Any]:
    """Settings that let ``authplug.load`` build ``provider`` offline."""
    settings: dict[str, Any] = {"cookie_keys": [_cookie_key()], "store": "memory"}
    if provider == "jwt":
        settings["jwt"] = {
            "issuer": "https://issuer.bench.example/",
            "audience": "https://api.bench.example",
            "algorithms": ["HS256"],
            "hmac_secret": secrets.token_urlsafe(32),
        }
    elif provider == "oauth":
        settings["oauth"] = {
            "issuer": "https://idp.bench.example/",
            "client_id": "bench",
            "client_secret": secrets.token_urlsafe(24),
        }
    elif provider == "saml":
        settings["saml"] = {}
    return settings


def clean_environ() -> dict[str, str]:
    """The environment without any ``AUTHPLUG_*`` or ``DEBUG_AUTH`` variable."""
    return {
        k: v for k, v in os.environ.items() if not k.startswith("AUTHPLUG_") and k != "DEBUG_AUTH"
    }


def _probe_main(provider: str, settings_json: str) -> None:
    """In the child: time ``import authplug`` + ``load``; list provider modules imported."""
    start = time.perf_counter()
    import authplug

    try:
        host = authplug.load(
            provider=provider, settings=json.loads(settings_json), environ={}, cwd=Path.cwd()
        )
    except Exception as exc:
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return
    elapsed = time.perf_counter() - start
    host.close()
    loaded = sorted(
        {name.split(".")[0] for name in sys.modules if name.split(".")[0].startswith("authplug_")}
    )
    heavy = sorted(lib for lib in HEAVY_LIBRARIES if lib in sys.modules)
    print(json.dumps({"ms": elapsed * 1000, "packages": loaded, "heavy": heavy}))


def probe_load(provider: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the load probe for ``provider`` in a fresh interpreter; its JSON answer."""
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            [
                sys.executable,
                str(_HERE),
                "--probe",
                provider,
                json.dumps(settings if settings is not None else probe_settings(provider)),
            ],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=clean_environ(),
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}"}
    lines = done.stdout.strip().splitlines()
    if not lines:
        return {"error": "no output"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def _wall(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=True, timeout=60)
    return (time.perf_counter() - start) * 1000


def providers_row(runs: int = RUNS) -> Any:
    """``authplug providers`` against ``python -c pass``, interleaved, median of ``runs``."""
    from harness import Row, skip_row

    script = Path(sys.executable).parent / "authplug"
    figure = "`authplug providers` wall time"
    measured = f"`authplug providers`, {runs} runs, median"
    baseline = "`python -c pass`, same interpreter"
    if not script.exists():
        return skip_row(figure, measured, baseline, "<= 150 ms added", f"{script} missing")
    env = clean_environ()
    bare: list[float] = []
    cli: list[float] = []
    with tempfile.TemporaryDirectory() as cwd:
        _wall([sys.executable, "-c", "pass"], env, cwd)
        _wall([str(script), "providers"], env, cwd)
        for _ in range(runs):
            bare.append(_wall([sys.executable, "-c", "pass"], env, cwd))
            cli.append(_wall([str(script), "providers"], env, cwd))
    added = statistics.median(cli) - statistics.median(bare)
    return Row(
        figure=figure,
        measured=measured,
        baseline=baseline,
        subject=statistics.median(cli),
        base=statistics.median(bare),
        ratio=None,
        target=f"<= {PROVIDERS_LIMIT_MS:g} ms added",
        passed=added <= PROVIDERS_LIMIT_MS,
        unit="ms",
        note=f"added {added:.0f} ms; best {min(cli):.0f} vs {min(bare):.0f} ms",
        extra={"added_ms": added, "runs_ms": cli, "bare_ms": bare},
    )


def load_rows(runs: int = 3) -> list[Any]:
    """``authplug.load()`` time per provider, and what else it imported."""
    import importlib.metadata as md

    from harness import Row, skip_row

    installed = {ep.name for ep in md.entry_points(group="authplug.providers")}
    rows = []
    for provider, package in PROVIDER_PACKAGES.items():
        figure = f"authplug.load() {provider}"
        measured = f"import authplug + load(provider={provider!r}) in a fresh process"
        if provider not in installed:
            rows.append(
                skip_row(
                    figure,
                    measured,
                    "-",
                    "report; no other provider imported",
                    f"authplug-{provider} is not installed",
                )
            )
            continue
        probes = [probe_load(provider) for _ in range(runs + 1)][1:]
        errors = [p["error"] for p in probes if "error" in p]
        if errors:
            rows.append(skip_row(figure, measured, "-", "report", errors[0]))
            continue
        others = sorted({p for probe in probes for p in probe["packages"] if p != package})
        heavy = sorted({h for probe in probes for h in probe["heavy"]})
        ms = statistics.median(p["ms"] for p in probes)
        rows.append(
            Row(
                figure=figure,
                measured=measured,
                baseline="-",
                subject=ms,
                base=None,
                ratio=None,
                target="report; no other provider imported",
                passed=not others,
                unit="ms",
                note=(
                    f"other providers imported: {', '.join(others) or 'none'}; "
                    f"heavy libraries: {', '.join(heavy) or 'none'}"
                ),
                extra={"other_providers": others, "heavy": heavy},
            )
        )
    return rows


def run(plan: Any) -> list[Any]:
    """Every start-up row."""
    return [providers_row(), *load_rows(2 if plan.quick else 3)]


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--probe":
    _probe_main(sys.argv[2], sys.argv[3])
