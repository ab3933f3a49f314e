"""Summarise a mutmut run per module and (optionally) write it into docs/testing.md.

Usage: ``python scripts/mutation_table.py MUTANTS_DIR [DOC]`` from the staged
tree ``nox -s mutate`` ran mutmut in. Reads mutmut's per-file ``.meta``
results, asks ``mutmut show`` for each survivor's changed line, matches it
against the argued-equivalent list ``tests/mutation/equivalent.toml`` and
prints the table; with ``DOC``, replaces the text between the
``<!-- mutation-table -->`` markers there. Exits 1 when a module is below the
target or a survivor is not argued (so the session fails loudly).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "mutation" / "equivalent.toml"
TARGET = 0.95
BEGIN, END = "<!-- mutation-table -->", "<!-- /mutation-table -->"

KILLED = {1, 3}
SURVIVED = {0}
TIMEOUT = {36, 24, -24, 152, 255}
NO_TESTS = {5, 33}


@dataclass
class Survivor:
    """One surviving mutant: its name, function and the mutated source line."""

    name: str
    function: str
    line: str
    why: str | None = None


@dataclass
class ModuleResult:
    """Counts of one module's mutants."""

    module: str
    counts: Counter[str] = field(default_factory=Counter)
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def equivalent(self) -> int:
        return sum(1 for s in self.survivors if s.why is not None)

    @property
    def score(self) -> float:
        """Killed (timeouts included) over the mutants that are not argued equivalent."""
        relevant = self.total - self.equivalent
        detected = self.counts["killed"] + self.counts["timeout"]
        return detected / relevant if relevant else 1.0


def classify(exit_code: int | None) -> str:
    """mutmut's exit code of a mutant's test run, as a table column."""
    if exit_code in KILLED:
        return "killed"
    if exit_code in SURVIVED:
        return "survived"
    if exit_code in TIMEOUT:
        return "timeout"
    if exit_code in NO_TESTS:
        return "no tests"
    if exit_code is None:
        return "not checked"
    return "suspicious"


def mutated_line(name: str) -> str:
    """The added line of ``mutmut show NAME``'s diff (stripped), or the whole diff."""
    shown = subprocess.run(  # noqa: S603 - our own interpreter, a mutant name mutmut gave us
        [sys.executable, "-m", "mutmut", "show", name], capture_output=True, text=True, check=False
    ).stdout
    added = [
        line[1:].strip()
        for line in shown.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    return " / ".join(added) if added else shown.strip().replace("\n", " ")


def load_equivalents() -> list[dict[str, str]]:
    """The argued-equivalent survivors: ``module``, ``function``, ``line``, ``why``."""
    if not EQUIVALENT.exists():
        return []
    with EQUIVALENT.open("rb") as handle:
        data = tomllib.load(handle)
    entries: list[dict[str, str]] = data.get("equivalent", [])
    return entries


def collect(mutants: Path) -> list[ModuleResult]:
    """Per-module results from mutmut's ``.meta`` files under ``mutants/src``."""
    equivalents = load_equivalents()
    results = []
    for meta in sorted((mutants / "src").rglob("*.py.meta")):
        relative = meta.relative_to(mutants / "src").as_posix()[: -len(".py.meta")]
        module = relative.replace("/", ".").removesuffix(".__init__")
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        result = ModuleResult(module)
        for name, code in sorted(codes.items()):
            status = classify(code)
            result.counts[status] += 1
            if status in ("survived", "no tests", "suspicious"):
                function = name[len(module) + 1 :].split("__mutmut_")[0].removeprefix("x")
                function = function.replace("ǁ", ".").strip("._")
                line = mutated_line(name)
                why = next(
                    (
                        e["why"]
                        for e in equivalents
                        if e["module"] == module
                        and e["function"] == function
                        and e["line"].strip() == line
                    ),
                    None,
                )
                result.survivors.append(Survivor(name, function, line, why))
        results.append(result)
    return results


def render(results: list[ModuleResult]) -> str:
    """The Markdown table and the survivor list."""
    lines = [
        "| module | mutants | killed | survived | timed out | no tests | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r.counts
        lines.append(
            f"| `{r.module}` | {r.total} | {c['killed']} | {c['survived'] + c['suspicious']} "
            f"| {c['timeout']} | {c['no tests']} | {r.equivalent} | {r.score:.1%} |"
        )
    lines += ["", "Survivors (each argued equivalent, or marked **not argued**):", ""]
    for r in results:
        for s in r.survivors:
            reason = s.why if s.why is not None else "**not argued**"
            lines.append(f"- `{r.module}.{s.function}`: `{s.line}` — {reason}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Print (and with a document path, write) the table; 1 when below target."""
    results = collect(Path(argv[1]))
    text = render(results)
    print(text)
    if len(argv) > 2:
        doc = Path(argv[2])
        current = doc.read_text(encoding="utf-8")
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        doc.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")
    failing = [r.module for r in results if r.score < TARGET]
    unargued = sum(1 for r in results for s in r.survivors if s.why is None)
    if failing or unargued:
        below = ", ".join(failing) or "none"
        print(f"below {TARGET:.0%}: {below}; {unargued} survivors not argued")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
