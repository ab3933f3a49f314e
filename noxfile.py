"""Every way to run the project: demo, tests, lint, type checks, interop, bench.

One table of distributions drives the parametrised sessions; dependency lists
live in the pyproject files (``[dependency-groups]`` of the workspace root).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")

nox.needs_version = ">=2024.10.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["lint", "typecheck", "tests", "contract"]

# name -> (source folder, tests folder)
DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    "core": ("core", "tests/core"),
    "mock": ("plugins/mock", "tests/plugins/mock"),
    "jwt": ("plugins/jwt", "tests/plugins/jwt"),
    "oauth": ("plugins/oauth", "tests/plugins/oauth"),
    "saml": ("plugins/saml", "tests/plugins/saml"),
    # the example third-party provider: its own pyproject and tests, kept beside it
    "header": ("examples/authplug-header", "examples/authplug-header/tests"),
}
PLUGINS = [name for name in DISTRIBUTIONS if name != "core"]
EXAMPLE_TESTS = [DISTRIBUTIONS["header"][1]]
INTEROP = ROOT / "tests" / "interop"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; tests/browser drives it (no download)


def _install_all(session: nox.Session, *groups: str) -> None:
    session.install(
        "-e",
        "./core[demo,jose,flask,django,testing,postgres,redis]",
        *(f"-e./{DISTRIBUTIONS[p][0]}" for p in PLUGINS),
    )
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


def _services_installed() -> bool:
    """Whether Debian's PostgreSQL server and redis-server are installed (scripts/test does it)."""
    return bool(list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))) and bool(
        shutil.which("redis-server")
    )


def _npm_ci(session: nox.Session) -> None:
    """Install the interop peers' npm packages (pinned by package-lock.json)."""
    if not (INTEROP / "package-lock.json").exists():
        return
    if shutil.which("npm") is None:
        session.warn("npm is missing: interop tests will be skipped")
        return
    session.run(
        "npm",
        "ci",
        "--prefix",
        str(INTEROP),
        "--no-audit",
        "--no-fund",
        "--silent",
        external=True,
    )


@nox.session
def tests(session: nox.Session) -> None:
    """Run every test (core, each plugin, interop, browser) against all distributions installed."""
    _install_all(session, "test")
    _npm_ci(session)
    session.env["INTEROP_REQUIRED"] = "1" if shutil.which("node") else "0"
    session.env["BROWSER_REQUIRED"] = "1" if CHROMIUM.is_file() else "0"
    session.env["SERVICES_REQUIRED"] = "1" if _services_installed() else "0"
    session.run("pytest", *(session.posargs or ["tests", *EXAMPLE_TESTS]))


@nox.session
@nox.parametrize("dist", list(DISTRIBUTIONS))
def dist(session: nox.Session, dist: str) -> None:
    """Install only the core plus one distribution and run that distribution's tests."""
    source, tests_dir = DISTRIBUTIONS[dist]
    core = "./core[jose,testing]" if dist == "core" else "./core[testing]"
    session.install("-e", core, *([] if dist == "core" else ["-e", f"./{source}"]))
    session.install(*nox.project.dependency_groups(PYPROJECT, "test"))
    session.run("pytest", tests_dir, *session.posargs)


def _guide_shell_block() -> str:
    """The quick start of docs/writing-a-provider.md (its one ``sh`` block)."""
    text = (ROOT / "docs" / "writing-a-provider.md").read_text(encoding="utf-8")
    return text.split("```sh\n", 1)[1].split("```", 1)[0]


@nox.session(reuse_venv=False)
def contract(session: nox.Session) -> None:
    """Run the guide's quick start in a fresh venv: scaffold a provider, install it, run its tests.

    Proves on every run that `authplug new-provider` renders a distribution
    that installs beside the core and passes the provider contract kit out of
    the box, exactly as the guide tells a third party to do it (`pip` runs as
    `uv pip` in this virtualenv); then its provider passes mypy --strict.
    """
    session.install("./core[testing]")
    session.install(*nox.project.dependency_groups(PYPROJECT, "typecheck"))
    workdir = Path(session.create_tmp()) / "contract"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    uv = Path(sys.executable).parent / "uv"
    script = f'set -euo pipefail\npip() {{ "{uv}" pip "$@"; }}\n{_guide_shell_block()}'
    with session.chdir(workdir):
        session.run("bash", "-c", script, external=True)
    session.run("authplug", "providers")
    with session.chdir(workdir / "authplug-acme"):
        session.run("mypy", "--strict", "src")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
@nox.parametrize("dist", list(DISTRIBUTIONS))
def typecheck(session: nox.Session, dist: str) -> None:
    """mypy --strict over one distribution's source, with only what it depends on installed."""
    source, _ = DISTRIBUTIONS[dist]
    session.install("-e", "./core[demo,jose,flask,django,testing,postgres,redis]")
    if dist != "core":
        session.install("-e", f"./{source}")
    session.install(*nox.project.dependency_groups(PYPROJECT, "typecheck"))
    session.run("mypy", "--strict", f"{source}/src")


@nox.session
def interop(session: nox.Session) -> None:
    """Only the interop tests, against the independent implementations in tests/interop."""
    _install_all(session, "test")
    _npm_ci(session)
    session.env["INTEROP_REQUIRED"] = "1"
    session.run("pytest", "tests/interop", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """The property-based tests with many random examples (FUZZ_EXAMPLES, default 3000 each)."""
    _install_all(session, "test")
    session.env["HYPOTHESIS_PROFILE"] = "fuzz"
    session.run("pytest", "tests", "-m", "fuzz", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the demo app (mock provider, SQLite store) on http://127.0.0.1:8000."""
    session.install("-e", "./core[demo]", "-e", "./plugins/mock")
    session.run("authplug", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the physical floor: prints a table of ratios, writes bench/results/."""
    _install_all(session, "bench")
    session.run("python", "bench/run.py", *session.posargs)


# -- mutation testing ---------------------------------------------------------------
# The security-critical modules `nox -s mutate` mutates (glob patterns under a
# distribution's src/; a pattern that matches nothing yet is kept so a later run
# includes the module once it lands), each with the tests that check it, the most
# specific first (test files or folders, globs allowed). A mutant runs only the tests
# that reach its function (mutmut's coverage) *and* are listed for its module, in this
# order, stopping at the first failure. See docs/testing.md.
_LIFECYCLE = "tests/core/lifecycle"
_SESSION = "tests/core/session"
_SESSION_REST = [_SESSION, _LIFECYCLE, "tests/core/hosts/test_cookie_attacks.py"]
_JOSE = ["tests/core/jose", "tests/plugins/jwt"]
_OAUTH = "tests/plugins/oauth"
_SAML = [
    "tests/plugins/saml/test_attacks.py",
    "tests/plugins/saml/test_*_mutants.py",
    "tests/plugins/saml/test_login_flow.py",
    "tests/plugins/saml/test_logout_and_unsolicited.py",
]
MUTATION_TARGETS: dict[str, list[str]] = {
    "authplug/return_to.py": [
        "tests/core/lifecycle/test_return_to*.py",
        _LIFECYCLE,
        "tests/core/hosts/test_mounted.py",
        "tests/core/session/test_flow*.py",
    ],
    "authplug/access.py": [
        "tests/core/test_access*.py",
        "tests/core/lifecycle/test_api_and_access.py",
        _LIFECYCLE,
    ],
    "authplug/request_path.py": [
        "tests/core/test_request_path*.py",
        "tests/core/hosts/test_path_confusion.py",
        _LIFECYCLE,
    ],
    # each session module's own test files first (test_chunks*.py for chunks.py, ...)
    **{
        f"authplug/session/{module}.py": [f"{_SESSION}/test_{module}*.py", *_SESSION_REST]
        for module in (
            "cache",
            "chunks",
            "codec",
            "cookie_header",
            "cookie_policy",
            "flow",
            "keyring",
            "manager",
            "payload",
        )
    },
    "authplug/session/*.py": _SESSION_REST,
    "authplug/fast_answers.py": [
        "tests/core/lifecycle/test_remembered_answers.py",
        "tests/core/lifecycle/test_fast_answers_mutants.py",
        "tests/plugins/jwt/test_remembered.py",
        "tests/core/lifecycle/test_stateless_fast_path.py",
    ],
    "authplug/bounded_map.py": [
        "tests/core/lifecycle/test_remembered_verdicts.py",
        "tests/core/lifecycle/test_remembered_answers.py",
        "tests/core/lifecycle/test_fast_answers_mutants.py",
    ],
    "authplug/revocation.py": ["tests/core/lifecycle/test_revo*.py", _LIFECYCLE, _SESSION],
    "authplug/logout.py": [
        "tests/core/lifecycle/test_logout*.py",
        _LIFECYCLE,
        "tests/core/hosts/test_mounted.py",
    ],
    # builds users from verified claims without pydantic validation (issue #16)
    "authplug/user_build.py": [
        "tests/core/test_user_build.py",
        "tests/core/test_claims*.py",
        "tests/plugins/jwt",
    ],
    "authplug/jose/claims.py": _JOSE,
    "authplug/jose/compact.py": _JOSE,
    "authplug/jose/verify.py": _JOSE,
    "authplug/jose/keys.py": _JOSE,
    "authplug_oauth/id_token.py": ["tests/plugins/oauth/test_id_token*_mutants.py", _OAUTH],
    "authplug_oauth/callback.py": ["tests/plugins/oauth/test_callback*_mutants.py", _OAUTH],
    "authplug_oauth/pkce.py": ["tests/plugins/oauth/test_pkce*_mutants.py", _OAUTH],
    "authplug_saml/assertion_checks.py": [
        "tests/plugins/saml/test_assertion_checks_mutants.py",
        "tests/plugins/saml/test_parse_instant_mutants.py",
        *_SAML,
    ],
    "authplug_saml/replay.py": ["tests/plugins/saml/test_replay_mutants.py", *_SAML],
}
# In-process tests only: real servers, browsers, Node peers and CLI subprocesses
# cannot run in mutmut's forked workers or would import the unmutated code, and
# they exercise the same functions the in-process tests do. The JWT cache's
# memory-bound tests (100k tokens) check the cache, not a listed module.
MUTATION_PYTEST_ARGS = [
    "-m",
    "not server and not browser and not interop and not fuzz",
    "-p",
    "no:cacheprovider",
    "--deselect",
    "tests/plugins/jwt/test_optimised.py",
    "--deselect",
    "tests/plugins/jwt/test_cache.py::test_bound_holds_with_100k_distinct_tokens",
    "--deselect",
    "tests/plugins/jwt/test_cache.py::test_real_memory_stays_under_the_bound",
    "--deselect",
    "tests/plugins/jwt/test_host.py::test_cli_check_reaches_the_jwks",
]
# Source lines never mutated: log calls, and the wording of error messages and
# pages (a line raising a typed error with a literal message, the SAML checks'
# `raise _reject("message", "code")`, or a line that is only a string literal,
# in double or single quotes). Wording is not behaviour; what messages must
# never contain (secrets, token content) is tested by the redaction tests.
MUTATION_SKIP_LINES = [
    r"^\s*_log\.\w+\(",
    r"^\s*raise [A-Z]\w*\(\s*f?\"",
    r"^\s*f?\"[^\"]*\"\s*[),]*\s*$",
    r"^\s*f?'[^']*'\s*[),]*\s*$",
    r"^\s*raise _reject\(\s*f?\"",
]
MUTATION_STAGE = ROOT / ".mutate"


def _mutation_tests() -> list[str]:
    """Every test file or folder some module lists (globs expanded; missing paths skipped)."""
    paths: set[str] = set()
    for entries in MUTATION_TARGETS.values():
        for entry in entries:
            paths.update(path.relative_to(ROOT).as_posix() for path in sorted(ROOT.glob(entry)))
    # a file inside a listed folder is already selected by the folder
    return sorted(p for p in paths if not any(p.startswith(f"{q}/") for q in paths))


def _stage_mutation_tree() -> None:
    """Lay out every distribution's packages under one src/ (mutmut expects one src root)."""
    if MUTATION_STAGE.exists():
        shutil.rmtree(MUTATION_STAGE)
    (MUTATION_STAGE / "src").mkdir(parents=True)
    for source, _ in DISTRIBUTIONS.values():
        if not (ROOT / source / "src").is_dir():
            continue
        for package in sorted((ROOT / source / "src").iterdir()):
            if package.is_dir() and (package / "__init__.py").exists():
                shutil.copytree(
                    package,
                    MUTATION_STAGE / "src" / package.name,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
    shutil.copytree(
        ROOT / "tests", MUTATION_STAGE / "tests", ignore=shutil.ignore_patterns("__pycache__")
    )
    toml = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # TOML basic strings take JSON's escapes
    listed = ", ".join(json.dumps(f"src/{target}") for target in MUTATION_TARGETS)
    selection = ", ".join(json.dumps(arg) for arg in [*_mutation_tests(), *MUTATION_PYTEST_ARGS])
    skipped = ", ".join(json.dumps(pattern) for pattern in MUTATION_SKIP_LINES)
    toml += (
        "\n[tool.mutmut]\n"
        'source_paths = ["src/"]\n'
        f"only_mutate = [{listed}]\n"
        f"do_not_mutate_patterns = [{skipped}]\n"
        f"pytest_add_cli_args_test_selection = [{selection}]\n"
        'pytest_add_cli_args = ["-p", "mutation_focus"]\n'
    )
    (MUTATION_STAGE / "focus.json").write_text(json.dumps(MUTATION_TARGETS), encoding="utf-8")
    (MUTATION_STAGE / "pyproject.toml").write_text(toml, encoding="utf-8")


@nox.session
def mutate(session: nox.Session) -> None:
    """Mutation testing (mutmut) of the security-critical modules; table in docs/testing.md.

    ``nox -s mutate`` runs every mutant and rewrites the table; ``nox -s mutate
    -- 'authplug.return_to*'`` runs only the mutants whose names match (the
    table is printed, not written). ``MUTATE_JOBS`` sets the parallelism
    (default 2).
    """
    _install_all(session, "test", "mutate")
    _stage_mutation_tree()
    jobs = session.env.get("MUTATE_JOBS") or os.environ.get("MUTATE_JOBS", "2")
    session.chdir(MUTATION_STAGE)
    focus = {
        "MUTATION_FOCUS": str(MUTATION_STAGE / "focus.json"),
        "PYTHONPATH": str(ROOT / "tests" / "mutation"),
    }
    session.run("mutmut", "run", "--max-children", jobs, *session.posargs, env=focus)
    table = [
        "python",
        str(ROOT / "scripts" / "mutation_table.py"),
        str(MUTATION_STAGE / "mutants"),
    ]
    if not session.posargs:
        table.append(str(ROOT / "docs" / "testing.md"))
    session.run(*table)
