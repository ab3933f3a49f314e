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
nothing to the selection. Two things keep every run short, in all of them:

* Hypothesis runs its usual examples but does not shrink a failure (a failing
  example is a killed mutant; shrinking it took half a minute).
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


def _ordered(nodeids: list[str], entries: list[str]) -> list[str]:
    ranked = [(rank, nodeid) for nodeid in nodeids if (rank := _rank(nodeid, entries)) is not None]
    return [nodeid for _, nodeid in sorted(ranked, key=lambda pair: pair[0])]


def pytest_configure(config: pytest.Config) -> None:
    """Collect only the module's tests (collection is most of a short run's time)."""
    settings.load_profile("mutate")
    if not _POOL.made:
        _POOL.install()
    _POOL.used.clear()
    entries = _entries(os.environ.get("MUTANT_UNDER_TEST", ""))
    if entries is None:
        return
    kept = _ordered(list(config.args), entries)
    if kept:
        config.args[:] = kept


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the module's tests in entry order; deselect the rest."""
    entries = _entries(os.environ.get("MUTANT_UNDER_TEST", ""))
    if entries is None:
        return
    order = {nodeid: index for index, nodeid in enumerate(_ordered(list(config.args), entries))}
    keep = [item for item in items if _rank(item.nodeid, entries) is not None]
    dropped = [item for item in items if _rank(item.nodeid, entries) is None]
    keep.sort(key=lambda item: (_rank(item.nodeid, entries), order.get(item.nodeid, len(order))))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep
