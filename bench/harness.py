"""The timing harness: interleaved rounds, per-call nanoseconds, median and best.

Every subject of one figure is a *batch* callable ``batch(n)`` that performs
the operation ``n`` times (a synchronous loop, or one ``run_until_complete``
around an ``async`` loop). A round times one batch of every subject, in a
rotating order, so slow drift of a shared machine hits baseline and subject
alike. The garbage collector is off while a batch runs and collected between
rounds; a warm-up round is discarded.

Rows whose added cost is a few microseconds (the cache hits) are timed one
request at a time instead (:func:`measure_interleaved`): every cycle runs
one request of each subject in a fresh random order, so the subjects sample
the same moments of the machine. Batch rounds of a few milliseconds each
could not resolve them: on this machine a batch of a Flask endpoint varies
by about 10 us per request from one round to the next, twice what a hit
adds (``docs/performance.md``, round 5).
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Batch",
    "Plan",
    "Row",
    "Timed",
    "Timing",
    "added_ns",
    "added_row",
    "calibrate",
    "measure",
    "measure_interleaved",
    "ratio_row",
    "skip_row",
]

Batch = Callable[[int], object]
"""Run the measured operation ``n`` times."""

Timed = Callable[[Sequence[str]], Sequence[int]]
"""Run one request of each named subject, in the order given; each one's nanoseconds."""

CYCLES_PER_ROUND = 100
"""Cycles of :func:`measure_interleaved` per round of the plan (one block each)."""


@dataclass(frozen=True)
class Plan:
    """How hard to measure.

    Attributes:
        rounds: Timed rounds per subject (after one warm-up round).
        batch_ns: Target duration of one batch; the inner count is calibrated to it.
        quick: ``--quick``: fewer rounds, shorter socket runs, smaller memory runs.
    """

    rounds: int = 101
    batch_ns: int = 3_000_000
    quick: bool = False

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        """The default plan, or the ``--quick`` one.

        Many short rounds rather than a few long ones: a burst of load from a
        neighbour then spoils a few rounds of every subject alike, and the
        median ignores them.
        """
        if quick:
            return cls(rounds=21, batch_ns=2_000_000, quick=True)
        return cls()


@dataclass(frozen=True)
class Timing:
    """Per-call times of one subject, in nanoseconds.

    Attributes:
        samples: One value per round (:func:`measure`), or per request
            (:func:`measure_interleaved`).
        per: What one sample is: ``"round"`` or ``"request"`` (for notes).
    """

    samples: tuple[float, ...]
    per: str = "round"

    @property
    def median_ns(self) -> float:
        """Median per-call time over the rounds."""
        return statistics.median(self.samples)

    @property
    def best_ns(self) -> float:
        """Fastest round's per-call time."""
        return min(self.samples)

    @property
    def median_us(self) -> float:
        """Median per-call time in microseconds."""
        return self.median_ns / 1000

    @property
    def best_us(self) -> float:
        """Best per-call time in microseconds."""
        return self.best_ns / 1000


@dataclass
class Row:
    """One line of the printed table and of ``latest.json``.

    Attributes:
        figure: Short name of the figure (the issue table's rows).
        measured: What the subject does.
        baseline: What it is compared with ("-" when absolute).
        subject: The subject's figure (µs, ms, req/s... see ``unit``).
        base: The baseline's figure in the same unit, or ``None``.
        ratio: ``subject / base`` (or added over added); ``None`` for absolute rows.
        target: The target as text (``<= 1.25x``, ``<= 10 us``).
        passed: ``True``/``False`` against the target, ``None`` when only reported.
        unit: Unit of ``subject`` and ``base``.
        note: Skips, errors, extra figures (best times, p99...).
        extra: Machine-readable extra figures for the JSON file.
        unmeasurable: The ratio could not be measured in this run (the
            baseline's figure came out at or below zero on a noisy machine):
            ``ratio`` is ``None`` and the row says so, never ``inf``.
        headline: One of the targets the issues name (listed first).
    """

    figure: str
    measured: str
    baseline: str
    subject: float | None
    base: float | None
    ratio: float | None
    target: str
    passed: bool | None
    unit: str = "us"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    unmeasurable: bool = False
    headline: bool = False

    @property
    def verdict(self) -> str:
        """``PASS``, ``MISS``, ``info``, ``SKIP`` or ``UNMEASURABLE``."""
        if self.subject is None:
            return "SKIP"
        if self.unmeasurable:
            return "UNMEASURABLE"
        if self.passed is None:
            return "info"
        return "PASS" if self.passed else "MISS"

    def as_dict(self) -> dict[str, Any]:
        """The row for ``latest.json``."""
        return {
            "figure": self.figure,
            "measured": self.measured,
            "baseline": self.baseline,
            "subject": self.subject,
            "base": self.base,
            "unit": self.unit,
            "ratio": self.ratio,
            "target": self.target,
            "verdict": self.verdict,
            "note": self.note,
            "headline": self.headline,
            **({"extra": self.extra} if self.extra else {}),
        }


def _time_batch(batch: Batch, n: int) -> int:
    start = time.perf_counter_ns()
    batch(n)
    return time.perf_counter_ns() - start


def calibrate(batch: Batch, target_ns: int, *, limit: int = 1_000_000) -> int:
    """The inner count that makes one batch last about ``target_ns``."""
    n = 1
    while True:
        elapsed = _time_batch(batch, n)
        if elapsed >= target_ns / 4 or n >= limit:
            return max(1, min(limit, int(n * target_ns / max(elapsed, 1))))
        n *= 4


def measure(
    subjects: Mapping[str, Batch],
    plan: Plan,
    *,
    inner: int | None = None,
    rounds: int | None = None,
) -> dict[str, Timing]:
    """Time every subject in interleaved rounds; per-call nanoseconds per round.

    :param subjects: Name -> batch callable. The first one calibrates the
        inner count unless ``inner`` is given, so put the slowest first.
    :param plan: Rounds and batch duration.
    :param inner: Operations per batch (default: calibrated).
    :param rounds: Override ``plan.rounds``.
    """
    names = list(subjects)
    rounds = rounds or plan.rounds
    if inner is None:
        inner = calibrate(subjects[names[0]], plan.batch_ns)
    samples: dict[str, list[float]] = {name: [] for name in names}
    was_enabled = gc.isenabled()
    try:
        for name in names:  # warm-up, discarded
            subjects[name](inner)
        for r in range(rounds):
            gc.collect()
            gc.disable()
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(_time_batch(subjects[name], inner) / inner)
            gc.enable()
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
    return {name: Timing(tuple(values)) for name, values in samples.items()}


def measure_interleaved(
    timed: Timed,
    names: Sequence[str],
    plan: Plan,
    *,
    seed: int = 0,
) -> dict[str, Timing]:
    """Time single requests of every subject, interleaved; one sample per request.

    ``plan.rounds`` blocks of :data:`CYCLES_PER_ROUND` cycles; a cycle runs
    one request of each subject in a random order (seeded), so no subject
    always follows the same one. The collector is off while a block runs
    and collected between blocks; one block is run first and discarded.
    Sample ``i`` of every subject comes from cycle ``i``, so
    :func:`added_ns` pairs requests of the same cycle.

    :param timed: Runs a schedule of subject names, one request each, and
        returns each request's nanoseconds (request set-up outside the timing).
    :param names: The subjects.
    :param plan: ``rounds`` sets the number of blocks.
    :param seed: Seeds the order of the cycles.
    """
    rng = random.Random(seed)
    names = list(names)
    samples: dict[str, list[float]] = {name: [] for name in names}

    def block() -> list[str]:
        schedule: list[str] = []
        for _ in range(CYCLES_PER_ROUND):
            cycle = names[:]
            rng.shuffle(cycle)
            schedule.extend(cycle)
        return schedule

    was_enabled = gc.isenabled()
    try:
        timed(block())  # warm-up, discarded
        for _ in range(plan.rounds):
            schedule = block()
            gc.collect()
            gc.disable()
            times = timed(schedule)
            gc.enable()
            if len(times) != len(schedule):
                raise ValueError(f"timed() returned {len(times)} times for {len(schedule)}")
            for name, ns in zip(schedule, times, strict=True):
                samples[name].append(float(ns))
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()
    return {name: Timing(tuple(values), per="request") for name, values in samples.items()}


def ratio_row(
    figure: str,
    measured: str,
    baseline: str,
    subject: Timing,
    base: Timing,
    limit: float,
) -> Row:
    """A row comparing two per-call medians: ``ratio = subject / base <= limit``."""
    if base.median_ns <= 0:
        return _unmeasurable(figure, measured, baseline, subject.median_us, base.median_us, limit)
    ratio = subject.median_ns / base.median_ns
    return Row(
        figure=figure,
        measured=measured,
        baseline=baseline,
        subject=subject.median_us,
        base=base.median_us,
        ratio=ratio,
        target=f"<= {limit:g}x",
        passed=ratio <= limit,
        note=(
            f"best {subject.best_us:.1f} vs {base.best_us:.1f} us "
            f"({subject.best_ns / base.best_ns:.2f}x)"
        ),
        extra={"subject_best_us": subject.best_us, "base_best_us": base.best_us},
    )


def added_ns(subject: Timing, alone: Timing) -> float:
    """What ``subject`` adds to ``alone``: the median over rounds of their difference.

    Both were timed in every round, back to back (:func:`measure`), so each
    round's difference is taken under one state of the machine; the median
    of those differences is not moved by rounds that ran slow for every
    subject alike, as the difference of two medians taken over different
    rounds is. Both timings must come from the same :func:`measure` call.
    """
    pairs = zip(subject.samples, alone.samples, strict=True)
    return statistics.median(s - a for s, a in pairs)


def added_row(
    figure: str,
    measured: str,
    baseline: str,
    timings: Mapping[str, Timing],
    *,
    alone: str,
    subject: str,
    floor: str,
    limit: float,
) -> Row:
    """An "added cost" row: ``(subject - alone) / (floor - alone) <= limit``.

    ``subject`` and ``base`` report the added microseconds (:func:`added_ns`:
    the median of per-round differences); the note carries the endpoint's
    own time and the best-round (or best-request) figures, and ``extra`` the
    difference of the medians as well (how these rows were computed before).
    """
    t_alone, t_subject, t_floor = timings[alone], timings[subject], timings[floor]
    added = added_ns(t_subject, t_alone)
    added_floor = added_ns(t_floor, t_alone)
    added_best = t_subject.best_ns - t_alone.best_ns
    floor_best = t_floor.best_ns - t_alone.best_ns
    if added_floor <= 0:
        return _unmeasurable(
            figure,
            measured,
            baseline,
            added / 1000,
            added_floor / 1000,
            limit,
            unit="us added",
            why=(
                f"the baseline added {added_floor / 1000:.1f} us over the endpoint alone "
                f"({t_alone.median_us:.1f} us): below the noise of this run"
            ),
        )
    ratio = added / added_floor
    best = f"{added_best / floor_best:.2f}x" if floor_best > 0 else "n/a"
    return Row(
        figure=figure,
        measured=measured,
        baseline=baseline,
        subject=added / 1000,
        base=added_floor / 1000,
        ratio=ratio,
        target=f"<= {limit:g}x",
        passed=ratio <= limit,
        unit="us added",
        note=(
            f"endpoint alone {t_alone.median_us:.1f} us; best-{t_subject.per} added "
            f"{added_best / 1000:.1f} vs {floor_best / 1000:.1f} us ({best})"
        ),
        extra={
            "alone_us": t_alone.median_us,
            "subject_total_us": t_subject.median_us,
            "floor_total_us": t_floor.median_us,
            "added_best_us": added_best / 1000,
            "floor_added_best_us": floor_best / 1000,
            "added_median_diff_us": (t_subject.median_ns - t_alone.median_ns) / 1000,
            "floor_added_median_diff_us": (t_floor.median_ns - t_alone.median_ns) / 1000,
        },
    )


def _unmeasurable(
    figure: str,
    measured: str,
    baseline: str,
    subject: float,
    base: float,
    limit: float,
    *,
    unit: str = "us",
    why: str = "the baseline measured zero",
) -> Row:
    """A row whose ratio this run could not measure: reported as such, never ``inf``."""
    return Row(
        figure=figure,
        measured=measured,
        baseline=baseline,
        subject=subject,
        base=base,
        ratio=None,
        target=f"<= {limit:g}x",
        passed=None,
        unit=unit,
        note=f"unmeasurable in this run: {why}; run again on a quieter machine",
        unmeasurable=True,
    )


def skip_row(figure: str, measured: str, baseline: str, target: str, reason: str) -> Row:
    """A row that could not be measured, with the reason."""
    return Row(
        figure=figure,
        measured=measured,
        baseline=baseline,
        subject=None,
        base=None,
        ratio=None,
        target=target,
        passed=None,
        note=reason,
    )
