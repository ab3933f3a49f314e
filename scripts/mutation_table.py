"""Summarise a mutmut run per module and (optionally) write it into docs/testing.md.

Usage: ``python scripts/mutation_table.py MUTANTS_DIR [DOC [LATER_KILLS]]``. Reads mutmut's
per-file ``.meta`` results, takes each survivor's changed line from the
mutated source mutmut wrote beside them (as ``mutmut show`` would), matches it
against the argued-equivalent list ``tests/mutation/equivalent.toml`` and
prints the table; with ``DOC``, replaces the text between the
``<!-- mutation-table -->`` markers there. Exits 1 when a module is below the
target or a survivor is not argued (so the session fails loudly).
"""

from __future__ import annotations

import difflib
import json
import re
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
        """Killed (timeouts included) over the checked mutants not argued equivalent."""
        relevant = self.total - self.counts["not checked"] - self.equivalent
        detected = self.counts["killed"] + self.counts["killed later"] + self.counts["timeout"]
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


def _block(lines: list[str], header: str) -> list[str]:
    """The body of the function whose ``def`` line contains ``header`` (without that line)."""
    for index, line in enumerate(lines):
        if header in line and line.lstrip().startswith(("def ", "async def ")):
            indent = len(line) - len(line.lstrip())
            # a signature wrapped over several lines ends where its brackets close
            depth, start = 0, index
            for start in range(index, len(lines)):
                depth += sum(lines[start].count(c) for c in "([{")
                depth -= sum(lines[start].count(c) for c in ")]}")
                if depth <= 0:
                    break
            body = []
            for following in lines[start + 1 :]:
                stripped = following.strip()
                if stripped and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            return body
    return []


def _signature(lines: list[str], header: str) -> list[str]:
    """The ``def`` line(s) of the function whose ``def`` line contains ``header``."""
    for index, line in enumerate(lines):
        if header in line and line.lstrip().startswith(("def ", "async def ")):
            depth = 0
            for end in range(index, len(lines)):
                depth += sum(lines[end].count(c) for c in "([{")
                depth -= sum(lines[end].count(c) for c in ")]}")
                if depth <= 0:
                    return lines[index : end + 1]
    return []


def mutated_line(source: list[str], name: str) -> str:
    """The changed source line(s) of mutant ``name``, read from mutmut's mutants file."""
    mangled = name.rsplit(".", 1)[1]
    orig = _block(source, mangled.rsplit("__mutmut_", 1)[0] + "__mutmut_orig(")
    mutant = _block(source, mangled + "(")
    added = [
        line[1:].strip()
        for line in difflib.unified_diff(orig, mutant, lineterm="", n=0)
        if line.startswith("+") and not line.startswith("+++")
    ]
    removed = [
        line[1:].strip()
        for line in difflib.unified_diff(orig, mutant, lineterm="", n=0)
        if line.startswith("-") and not line.startswith("---")
    ]
    if not added and not removed:
        # only the signature changed (a default value): show its changed line
        stem = mangled.rsplit("__mutmut_", 1)[0]
        plain = stem.split("ǁ")[-1] if "ǁ" in stem else stem.removeprefix("x_")
        signatures = [
            [line.replace(f"{fn}(", f"{plain}(") for line in _signature(source, f"{fn}(")]
            for fn in (f"{stem}__mutmut_orig", mangled)
        ]
        added = [
            line[1:].strip()
            for line in difflib.unified_diff(*signatures, lineterm="", n=0)
            if line.startswith("+") and not line.startswith("+++")
        ]
    return " / ".join(added) if added else "(removed) " + " / ".join(removed)


def load_equivalents() -> list[dict[str, str]]:
    """The argued-equivalent survivors: ``module``, ``function``, ``line``, ``why``."""
    if not EQUIVALENT.exists():
        return []
    with EQUIVALENT.open("rb") as handle:
        data = tomllib.load(handle)
    entries: list[dict[str, str]] = data.get("equivalent", [])
    return entries


def _matches(entry: dict[str, str], module: str, function: str, line: str) -> bool:
    """Whether an equivalence entry covers this survivor.

    An entry names one survivor exactly (``module``, ``function``, ``line``),
    or a whole kind of change by ``pattern`` (a regular expression searched in
    the mutated line, optionally limited to a ``module``).
    """
    if "pattern" in entry:
        return (
            entry.get("module", module) == module and re.search(entry["pattern"], line) is not None
        )
    return (
        entry["module"] == module
        and entry["function"] == function
        and entry["line"].strip() == line
    )


def load_later_kills(path: Path | None) -> set[str]:
    """Survivors killed by a test added after the run: ``EXIT_CODE MUTANT TEST`` lines.

    A non-zero exit code means the test failed with the mutant on (killed).

    Each line records running that test with the mutant switched on
    (``MUTANT_UNDER_TEST``), the way mutmut runs it.
    """
    if path is None or not path.exists():
        return set()
    kills = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] != "0":
            kills.add(parts[1])
    return kills


def collect(mutants: Path, later: Path | None = None) -> list[ModuleResult]:
    """Per-module results from mutmut's ``.meta`` files under ``mutants/src``."""
    equivalents = load_equivalents()
    later_kills = load_later_kills(later)
    results = []
    for meta in sorted((mutants / "src").rglob("*.py.meta")):
        relative = meta.relative_to(mutants / "src").as_posix()[: -len(".py.meta")]
        module = relative.replace("/", ".").removesuffix(".__init__")
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        result = ModuleResult(module)
        source = meta.with_suffix("").read_text(encoding="utf-8").splitlines()
        for name, code in sorted(codes.items()):
            status = classify(code)
            if status == "survived" and name in later_kills:
                status = "killed later"
            result.counts[status] += 1
            if status in ("survived", "no tests", "suspicious"):
                mangled = name[len(module) + 1 :].rsplit("__mutmut_", 1)[0]
                function = mangled[2:].replace("ǁ", ".")  # x_name or xǁClassǁname
                line = mutated_line(source, name)
                why = next(
                    (e["why"] for e in equivalents if _matches(e, module, function, line)), None
                )
                result.survivors.append(Survivor(name, function, line, why))
        results.append(result)
    return results


def _score_text(result: ModuleResult) -> str:
    checked = result.total - result.counts["not checked"] - result.equivalent
    return f"{result.score:.1%}" if checked else "not run"


def render(results: list[ModuleResult]) -> str:
    """The Markdown table and the survivor list."""
    lines = [
        "| module | mutants | killed | killed by a later test | survived | timed out | no tests "
        "| not checked | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        c = r.counts
        lines.append(
            f"| `{r.module}` | {r.total} | {c['killed']} | {c['killed later']} "
            f"| {c['survived'] + c['suspicious']} "
            f"| {c['timeout']} | {c['no tests']} | {c['not checked']} | {r.equivalent} "
            f"| {_score_text(r)} |"
        )
    lines += ["", "Survivors (each argued equivalent, or marked **not argued**):", ""]
    for r in results:
        for s in r.survivors:
            reason = s.why if s.why is not None else "**not argued**"
            lines.append(f"- `{r.module}.{s.function}`: `{s.line}` — {reason}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Print (and with a document path, write) the table; 1 when below target."""
    later = Path(argv[3]) if len(argv) > 3 else None
    results = collect(Path(argv[1]), later)
    text = render(results)
    print(text)
    if len(argv) > 2 and argv[2] != "-":
        doc = Path(argv[2])
        current = doc.read_text(encoding="utf-8")
        head, _, rest = current.partition(BEGIN)
        _, _, tail = rest.partition(END)
        doc.write_text(f"{head}{BEGIN}\n{text}{END}{tail}", encoding="utf-8")
    failing = [r.module for r in results if r.score < TARGET or r.counts["not checked"]]
    unargued = sum(1 for r in results for s in r.survivors if s.why is None)
    if failing or unargued:
        below = ", ".join(failing) or "none"
        print(f"below {TARGET:.0%}: {below}; {unargued} survivors not argued")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
