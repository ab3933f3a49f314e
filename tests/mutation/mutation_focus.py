"""pytest plugin of ``nox -s mutate``: a mutant runs its own module's tests, most specific first.

mutmut runs each mutant (in a forked worker, ``MUTANT_UNDER_TEST`` naming it)
against every selected test that reached the mutated function in its stats
run, fastest first, stopping at the first failure. For a function every
request goes through (the session codec, the cookie policy) that is hundreds
of tests from every folder, which a surviving mutant runs to the end.

This plugin narrows and orders that list with the module's test list from
``MUTATION_TARGETS`` in ``noxfile.py`` (written by the session to the JSON file
named by ``MUTATION_FOCUS``): a test is kept only when its file matches one of
the module's entries, and tests matching an earlier (more specific) entry run
first, mutmut's fastest-first order kept within each entry. Narrowing can only
turn a kill into a survivor, never the reverse, so the table it produces is
never better than the full run's: a survivor it reports is one the module's own
tests miss.

Outside a mutant run (mutmut's stats, clean and forced-fail runs) it does
nothing to the selection. Three things keep every run short, in all of them:

* Hypothesis runs its usual examples but does not shrink a failure (a failing
  example is a killed mutant; shrinking it took half a minute).
* A PEM private key is parsed once per process: pysaml2 reloads the SP key
  for every provider and signxml the IdP key for every signature.
* Each test session gets the same sequence of RSA keys as the previous session
  in this process (the n-th RSA-2048 key asked for is the same key every
  time): keys stay distinct within a session, but mutmut's workers, forked
  from the process that ran the stats, no longer generate the RSA keys of
  every session fixture again for each mutant.
"""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import Phase, settings

_MARK = "__mutmut_"

settings.register_profile(
    "mutate",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)


class _KeyPool:
    """The n-th key of a kind asked for in a session is the n-th key ever made of that kind."""

    def __init__(self) -> None:
        self.made: dict[object, list[Any]] = {}
        self.used: dict[object, int] = {}

    def take(self, kind: object, make: Any) -> Any:
        index = self.used.get(kind, 0)
        self.used[kind] = index + 1
        made = self.made.setdefault(kind, [])
        if index == len(made):
            made.append(make())
        return made[index]

    def install(self) -> None:
        """Route ``rsa.generate_private_key`` through the pool (EC and Ed25519 keys are cheap)."""
        generate = rsa.generate_private_key

        def rsa_key(public_exponent: int, key_size: int, backend: Any = None) -> Any:
            kind = (public_exponent, key_size)
            return self.take(kind, lambda: generate(public_exponent, key_size))

        rsa.generate_private_key = rsa_key


_POOL = _KeyPool()
_INSTALLED: list[bool] = []


def _remember_loaded_keys() -> None:
    """Parse each PEM private key once per process (the SAML tests reload theirs constantly).

    pysaml2 loads the SP key from its file whenever a provider is built, and
    signxml parses the IdP key for every signature: an RSA key's consistency
    check makes that most of a SAML test's own time. A key object is
    immutable and the same PEM always gives the same key, so the parsed key
    is handed out again (errors are not remembered: a bad PEM still raises).
    """
    from cryptography.hazmat.primitives import serialization

    load = serialization.load_pem_private_key
    parsed: dict[tuple[bytes, bytes | None, tuple[tuple[str, Any], ...]], Any] = {}

    def load_once(data: bytes, password: bytes | None = None, **options: Any) -> Any:
        key = (bytes(data), password, tuple(sorted(options.items())))
        if key not in parsed:
            parsed[key] = load(data, password, **options)
        return parsed[key]

    serialization.load_pem_private_key = load_once  # type: ignore[assignment]
    try:
        import signxml.signer
    except ImportError:  # pragma: no cover - the SAML tests' signer is a test dependency
        return
    signxml.signer.load_pem_private_key = load_once  # type: ignore[assignment]


def _module_path(mutant: str) -> str:
    """``authplug.session.flow.xǁFlowǁ_find__mutmut_5`` -> ``authplug/session/flow.py``."""
    return mutant.rsplit(".", 1)[0].replace(".", "/") + ".py"


def _entries(mutant: str) -> list[str] | None:
    """The module's test entries (files, folders or globs), or None when not focused."""
    focus = os.environ.get("MUTATION_FOCUS")
    if not focus or _MARK not in mutant:
        return None
    module = _module_path(mutant)
    targets: dict[str, list[str]] = json.loads(Path(focus).read_text(encoding="utf-8"))
    for pattern, entries in targets.items():
        if fnmatch.fnmatchcase(module, pattern):
            return entries
    return None


def _rank(nodeid: str, entries: list[str]) -> int | None:
    """Index of the first entry the test's file matches, or None."""
    path = nodeid.split("::", 1)[0]
    for index, entry in enumerate(entries):
        if fnmatch.fnmatchcase(path, entry) or path.startswith(entry.rstrip("/") + "/"):
            return index
    return None


def _groups(nodeids: list[str], entries: list[str]) -> list[list[str]]:
    """The module's tests in run order, one group per test file.

    Files of an earlier entry come first; within an entry, the file holding
    the earliest test of mutmut's fastest-first list; within a file, mutmut's
    order. Tests no entry matches are dropped.
    """
    files: dict[str, list[str]] = {}
    ranks: dict[str, tuple[int, int]] = {}
    for position, nodeid in enumerate(nodeids):
        rank = _rank(nodeid, entries)
        if rank is None:
            continue
        path = nodeid.split("::", 1)[0]
        files.setdefault(path, []).append(nodeid)
        ranks.setdefault(path, (rank, position))
    return [files[path] for path in sorted(files, key=ranks.__getitem__)]


def pytest_configure(config: pytest.Config) -> None:
    """Keys and Hypothesis settings for every run; a mutant's tests in its module's order."""
    settings.load_profile("mutate")
    if not _INSTALLED:
        _INSTALLED.append(True)
        _POOL.install()
        _remember_loaded_keys()
    _POOL.used.clear()
    entries = _entries(os.environ.get("MUTANT_UNDER_TEST", ""))
    if entries is None:
        return
    groups = _groups(list(config.args), entries)
    if groups:
        config.args[:] = [nodeid for group in groups for nodeid in group]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the module's tests only, in the order of the arguments."""
    entries = _entries(os.environ.get("MUTANT_UNDER_TEST", ""))
    if entries is None:
        return
    order = {nodeid: index for index, nodeid in enumerate(config.args)}
    keep = [item for item in items if _rank(item.nodeid, entries) is not None]
    dropped = [item for item in items if _rank(item.nodeid, entries) is None]
    keep.sort(key=lambda item: order.get(item.nodeid, len(order)))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A test that cannot find a fixture is the harness's fault, never a killed mutant.

    mutmut counts any failing exit status as a kill; a missing fixture (a
    test collected without its conftest) would count every mutant of a
    module as killed. Such a run ends "interrupted" instead (exit status 2),
    which the table reports as not checked.
    """
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(pytest.FixtureLookupError):
        item.session.shouldstop = f"fixture lookup failed in {item.nodeid}"
        _FIXTURE_ERRORS.append(item.nodeid)
    return report


_FIXTURE_ERRORS: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Report a run with a missing fixture as interrupted (see ``pytest_runtest_makereport``)."""
    if _FIXTURE_ERRORS:
        _FIXTURE_ERRORS.clear()
        session.exitstatus = pytest.ExitCode.INTERRUPTED
