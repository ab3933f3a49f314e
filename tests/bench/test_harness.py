"""The harness: interleaved measurement and the arithmetic of the rows."""

from __future__ import annotations

import gc

import harness
import pytest
from harness import (
    Plan,
    Timing,
    added_ns,
    added_row,
    calibrate,
    measure,
    measure_interleaved,
    ratio_row,
    skip_row,
)


def test_measure_times_every_subject_once_per_round_after_a_warm_up() -> None:
    calls: dict[str, list[int]] = {"a": [], "b": []}

    def subject(name: str):  # type: ignore[no-untyped-def]
        return lambda n: calls[name].append(n)

    timings = measure({"a": subject("a"), "b": subject("b")}, Plan(rounds=3), inner=7)

    assert calls == {"a": [7] * 4, "b": [7] * 4}  # one warm-up + three rounds
    assert set(timings) == {"a", "b"}
    assert all(len(t.samples) == 3 for t in timings.values())
    assert all(s >= 0 for t in timings.values() for s in t.samples)


def test_measure_leaves_the_collector_as_it_found_it() -> None:
    assert gc.isenabled()
    measure({"a": lambda n: None}, Plan(rounds=2), inner=1)
    assert gc.isenabled()


def test_measure_disables_the_collector_while_a_batch_runs() -> None:
    seen: list[bool] = []
    measure({"a": lambda n: seen.append(gc.isenabled())}, Plan(rounds=2), inner=1)
    assert seen[1:] == [False, False]  # the warm-up may run with it on


def _recording_timed(schedules: list[list[str]], gc_states: list[bool] | None = None):  # type: ignore[no-untyped-def]
    """A Timed that records each schedule and times request ``i`` of it as ``i``."""

    def timed(schedule):  # type: ignore[no-untyped-def]
        schedules.append(list(schedule))
        if gc_states is not None:
            gc_states.append(gc.isenabled())
        return list(range(len(schedule)))

    return timed


def test_measure_interleaved_runs_one_request_of_each_subject_per_cycle() -> None:
    schedules: list[list[str]] = []
    timings = measure_interleaved(_recording_timed(schedules), ["a", "b", "c"], Plan(rounds=2))

    assert len(schedules) == 3  # one warm-up block, then one per round
    for schedule in schedules:
        assert len(schedule) == 3 * harness.CYCLES_PER_ROUND
        cycles = [schedule[i : i + 3] for i in range(0, len(schedule), 3)]
        assert all(sorted(cycle) == ["a", "b", "c"] for cycle in cycles)
    assert {name: len(t.samples) for name, t in timings.items()} == {
        "a": 2 * harness.CYCLES_PER_ROUND,
        "b": 2 * harness.CYCLES_PER_ROUND,
        "c": 2 * harness.CYCLES_PER_ROUND,
    }
    assert all(t.per == "request" for t in timings.values())


def test_measure_interleaved_shuffles_the_order_within_cycles() -> None:
    schedules: list[list[str]] = []
    measure_interleaved(_recording_timed(schedules), ["a", "b", "c"], Plan(rounds=1))
    schedule = schedules[1]
    orders = {tuple(schedule[i : i + 3]) for i in range(0, len(schedule), 3)}
    assert len(orders) == 6  # every order of three occurs in 100 cycles
    firsts = [schedule[i] for i in range(0, len(schedule), 3)]
    assert all(firsts.count(name) > 15 for name in "abc")  # none always first


def test_measure_interleaved_keeps_each_sample_with_its_request() -> None:
    schedules: list[list[str]] = []
    timings = measure_interleaved(_recording_timed(schedules), ["a", "b"], Plan(rounds=2))
    expected: dict[str, list[float]] = {"a": [], "b": []}
    for schedule in schedules[1:]:
        for position, name in enumerate(schedule):
            expected[name].append(float(position))
    assert {name: list(t.samples) for name, t in timings.items()} == expected
    # sample i of both subjects comes from cycle i: positions 2i and 2i+1
    pairs = zip(timings["a"].samples, timings["b"].samples, strict=True)
    assert all(abs(a - b) == 1 for a, b in pairs)


def test_measure_interleaved_is_reproducible_for_a_seed() -> None:
    first: list[list[str]] = []
    second: list[list[str]] = []
    other: list[list[str]] = []
    measure_interleaved(_recording_timed(first), ["a", "b"], Plan(rounds=1), seed=3)
    measure_interleaved(_recording_timed(second), ["a", "b"], Plan(rounds=1), seed=3)
    measure_interleaved(_recording_timed(other), ["a", "b"], Plan(rounds=1), seed=4)
    assert first == second
    assert first != other


def test_measure_interleaved_disables_the_collector_per_block_and_restores_it() -> None:
    states: list[bool] = []
    assert gc.isenabled()
    measure_interleaved(_recording_timed([], states), ["a"], Plan(rounds=2))
    assert states[1:] == [False, False]
    assert gc.isenabled()
    gc.disable()
    try:
        measure_interleaved(_recording_timed([]), ["a"], Plan(rounds=1))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_measure_interleaved_refuses_a_timed_that_loses_requests() -> None:
    with pytest.raises(ValueError, match="returned 1 times for 100"):
        measure_interleaved(lambda schedule: [0], ["a"], Plan(rounds=1))
    assert gc.isenabled()


def test_calibrate_grows_the_inner_count_for_a_cheap_batch() -> None:
    assert calibrate(lambda n: None, 1_000_000, limit=4096) == 4096
    assert calibrate(lambda n: sum(range(n * 100)), 2_000_000) >= 1


def test_timing_median_and_best() -> None:
    t = Timing((3000.0, 1000.0, 2000.0))
    assert (t.median_ns, t.best_ns, t.median_us, t.best_us) == (2000.0, 1000.0, 2.0, 1.0)


def test_ratio_row_passes_at_the_limit_and_misses_above_it() -> None:
    base = Timing((1000.0,))
    assert ratio_row("f", "m", "b", Timing((1150.0,)), base, 1.15).verdict == "PASS"
    row = ratio_row("f", "m", "b", Timing((1160.0,)), base, 1.15)
    assert row.verdict == "MISS"
    assert row.ratio == pytest.approx(1.16)


def test_added_row_divides_added_cost_by_the_floors_added_cost() -> None:
    timings = {
        "alone": Timing((20_000.0,)),
        "floor": Timing((60_000.0,)),
        "authplug": Timing((70_000.0,)),
    }
    row = added_row(
        "f", "m", "b", timings, alone="alone", subject="authplug", floor="floor", limit=1.25
    )
    assert row.subject == pytest.approx(50.0)
    assert row.base == pytest.approx(40.0)
    assert row.ratio == pytest.approx(1.25)
    assert row.verdict == "PASS"


def test_added_cost_is_the_median_of_per_round_differences() -> None:
    """A round that ran slow for every subject alike moves neither side of a difference."""
    # rounds 3 and 4 ran about 20 us slow for both; round 5 only for the subject
    alone = Timing((10_000.0, 11_000.0, 30_000.0, 31_000.0, 12_000.0))
    subject = Timing((15_000.0, 16_000.0, 35_000.0, 36_000.0, 37_000.0))
    assert added_ns(subject, alone) == pytest.approx(5_000.0)
    # the difference of the medians takes them from different rounds (35 and 12 us)
    assert subject.median_ns - alone.median_ns == pytest.approx(23_000.0)


def test_added_cost_needs_timings_of_the_same_rounds() -> None:
    with pytest.raises(ValueError, match=r"shorter|longer"):
        added_ns(Timing((1.0, 2.0)), Timing((1.0,)))


def test_added_row_reports_the_difference_of_medians_beside() -> None:
    timings = {
        "alone": Timing((10_000.0, 11_000.0, 30_000.0, 31_000.0, 12_000.0)),
        "floor": Timing((14_000.0, 15_000.0, 34_000.0, 35_000.0, 16_000.0)),
        "authplug": Timing((15_000.0, 16_000.0, 35_000.0, 36_000.0, 37_000.0)),
    }
    row = added_row(
        "f", "m", "b", timings, alone="alone", subject="authplug", floor="floor", limit=1.25
    )
    assert row.subject == pytest.approx(5.0)
    assert row.base == pytest.approx(4.0)
    assert row.verdict == "PASS"
    assert row.extra["added_median_diff_us"] == pytest.approx(23.0)
    assert row.extra["floor_added_median_diff_us"] == pytest.approx(4.0)


def test_skip_row_has_no_figures_and_says_why() -> None:
    row = skip_row("f", "m", "b", "<= 1x", "not installed")
    assert row.verdict == "SKIP"
    assert row.as_dict()["note"] == "not installed"
    assert row.as_dict()["subject"] is None


def test_an_unmeasurable_added_cost_is_reported_as_such_not_inf() -> None:
    """Issue #13.11: a floor whose added cost comes out at or below zero on a busy machine."""
    timings = {
        "alone": Timing((60_000.0,)),
        "floor": Timing((59_000.0,)),
        "authplug": Timing((70_000.0,)),
    }
    row = added_row(
        "f", "m", "b", timings, alone="alone", subject="authplug", floor="floor", limit=1.25
    )
    assert row.ratio is None
    assert row.unmeasurable
    assert row.verdict == "UNMEASURABLE"
    assert "unmeasurable" in row.note
    assert "inf" not in row.note
    assert row.as_dict()["ratio"] is None


def test_an_unmeasurable_plain_ratio_is_reported_as_such() -> None:
    row = ratio_row("f", "m", "b", Timing((1000.0,)), Timing((0.0,)), 1.15)
    assert row.verdict == "UNMEASURABLE"
    assert row.ratio is None
