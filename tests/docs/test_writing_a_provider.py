"""Every code block of docs/writing-a-provider.md is executed.

The Python blocks, in order, form one module: a provider, a bare provider, an
extension plugin, a ProviderContract subclass and kit-based tests. It is
installed as a real entry point (a ``.dist-info`` written at test time) and
run by pytest in a subprocess, so the contract loads the guide's provider by
name and runs through both hosts. TOML blocks are parsed; the one shell block
is run by ``nox -s contract`` in a fresh virtualenv (see noxfile.py).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "writing-a-provider.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(GUIDE.read_text()) if lang == language]


def test_every_block_has_a_language_this_test_runs() -> None:
    languages = {lang for lang, _ in BLOCK.findall(GUIDE.read_text())}
    assert languages == {"python", "toml", "sh"}


def test_the_shell_block_is_the_one_the_contract_session_runs() -> None:
    noxfile = (ROOT / "noxfile.py").read_text()
    assert len(blocks("sh")) == 1
    assert "_guide_shell_block()" in noxfile
    assert blocks("sh")[0].startswith("authplug new-provider acme\n")


def test_toml_blocks_parse_and_declare_the_entry_point() -> None:
    (entry_points,) = [tomllib.loads(body) for body in blocks("toml")]
    assert entry_points["project"]["entry-points"]["authplug.providers"] == {
        "acme": "authplug_acme.provider:AcmeProvider"
    }


def test_python_blocks_make_a_provider_that_passes_the_kit(pytester: pytest.Pytester) -> None:
    source = "\n\n".join(blocks("python"))
    pytester.makepyfile(test_guide_acme=source)
    pytester.makeconftest('pytest_plugins = ["authplug.testing"]\n')
    info = pytester.path / "authplug_acme-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: authplug-acme\nVersion: 0.1.0\n"
        "Summary: The guide's provider\nRequires-Dist: authplug>=0.1,<0.2\n"
    )
    (info / "entry_points.txt").write_text(
        "[authplug.providers]\nacme = test_guide_acme:AcmeProvider\n"
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-W", "error", "--import-mode=prepend", "-q", "--durations=5"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()[-3000:]
    assert outcomes.get("error", 0) == 0, result.stdout.str()[-3000:]
    # the contract (both hosts) and the guide's own tests all ran
    assert outcomes.get("passed", 0) >= 30, outcomes
