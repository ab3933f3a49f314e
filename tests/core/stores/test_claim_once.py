"""``claim_once``: the store-backed one-time keys (SAML assertion-ID replay cache)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authplug.stores import StoreError, UserStore
from authplug.stores.sqlite import SqliteUserStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_first_use_wins_and_a_replay_is_refused(store: UserStore) -> None:
    assert store.claim_once("idp|_a1", T0 + 5 * MINUTE, T0)
    assert not store.claim_once("idp|_a1", T0 + 5 * MINUTE, T0 + MINUTE)
    assert not store.claim_once("idp|_a1", T0 + 9 * MINUTE, T0 + 4 * MINUTE)
    assert store.claim_once("idp|_a2", T0 + 5 * MINUTE, T0)


def test_a_refused_replay_does_not_extend_the_entry(store: UserStore) -> None:
    assert store.claim_once("k", T0 + 5 * MINUTE, T0)
    assert not store.claim_once("k", T0 + 60 * MINUTE, T0 + MINUTE)
    assert store.claim_once("k", T0 + 10 * MINUTE, T0 + 5 * MINUTE)


def test_key_is_free_again_once_its_use_has_ended(store: UserStore) -> None:
    assert store.claim_once("k", T0 + MINUTE, T0)
    assert store.claim_once("k", T0 + 3 * MINUTE, T0 + MINUTE)  # until is exclusive
    assert not store.claim_once("k", T0 + 3 * MINUTE, T0 + 2 * MINUTE)


def test_naive_and_offset_datetimes_are_the_same_instant(store: UserStore) -> None:
    assert store.claim_once("k", (T0 + MINUTE).replace(tzinfo=None), T0)
    assert not store.claim_once("k", T0 + MINUTE, T0.astimezone(UTC).replace(tzinfo=None))


def test_concurrent_claims_let_exactly_one_through(store: UserStore) -> None:
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        got = store.claim_once("race", T0 + MINUTE, T0)
        with lock:
            results.append(got)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]


def test_closed_store_raises(store: UserStore) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.claim_once("k", T0 + MINUTE, T0)


def test_claims_hold_across_stores_on_one_file(tmp_path: Path) -> None:
    """Two processes sharing the file: modelled by two stores with their own connections."""
    path = str(tmp_path / "users.sqlite3")
    one, two = SqliteUserStore(path=path), SqliteUserStore(path=path)
    try:
        assert one.claim_once("idp|_shared", T0 + MINUTE, T0)
        assert not two.claim_once("idp|_shared", T0 + MINUTE, T0)
        assert two.claim_once("idp|_other", T0 + MINUTE, T0)
        assert not one.claim_once("idp|_other", T0 + MINUTE, T0)
    finally:
        one.close()
        two.close()


def test_ended_keys_are_pruned(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "users.sqlite3"
    store = SqliteUserStore(path=str(path))
    try:
        for i in range(5):
            assert store.claim_once(f"old-{i}", T0 + MINUTE, T0)
        assert store.claim_once("new", T0 + 10 * MINUTE, T0 + 2 * MINUTE)
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        keys = [row[0] for row in conn.execute("SELECT key FROM one_time_keys")]
    finally:
        conn.close()
    assert keys == ["new"]
