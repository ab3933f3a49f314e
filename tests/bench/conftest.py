"""Make the benchmark suite's modules (``bench/*.py``, run as scripts) importable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


@pytest.fixture
def tiny_plan() -> object:
    """A plan that runs every case in milliseconds: two rounds of tiny batches."""
    from harness import Plan

    return Plan(rounds=2, batch_ns=200_000, quick=True)
