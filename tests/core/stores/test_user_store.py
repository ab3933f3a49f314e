"""The store contract: every built-in store passes it (memory, SQLite, PostgreSQL).

The PostgreSQL store runs against a real server (``tests/services.py``), a
fresh database per test, migrated with ``migrate_schema`` as ``authplug
migrate`` does.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from authplug.models import AuthenticatedUser, ToolUserView
from authplug.stores import StoreError, UserRecord, UserStore

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _user(user_id: str = "u1", **changes: object) -> ToolUserView:
    data: dict[str, object] = {
        "user_id": user_id,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "user_type": "external-user",
        "roles": ("pika:reader",),
        "custom_data": {"company": "Analytical Engines"},
        "features": ("history",),
    }
    data.update(changes)
    return ToolUserView.model_validate(data)


def test_is_a_user_store(store: UserStore) -> None:
    assert isinstance(store, UserStore)


def test_record_login_inserts_with_first_seen(store: UserStore) -> None:
    store.record_login(_user(), T0)
    record = store.get("u1")
    assert record == UserRecord(
        user_id="u1",
        first_name="Ada",
        last_name="Lovelace",
        user_type="external-user",
        roles=("pika:reader",),
        custom_data={"company": "Analytical Engines"},
        features=("history",),
        first_seen=T0,
        last_login=T0,
    )


def test_second_login_keeps_first_seen_and_moves_last_login(store: UserStore) -> None:
    store.record_login(_user(), T0)
    later = T0 + timedelta(days=3)
    store.record_login(_user(roles=("pika:content-admin",), first_name="Augusta"), later)
    record = store.get("u1")
    assert record is not None
    assert record.first_seen == T0
    assert record.last_login == later
    assert record.roles == ("pika:content-admin",)
    assert record.first_name == "Augusta"


def test_update_changes_profile_and_keeps_timestamps(store: UserStore) -> None:
    store.record_login(_user(), T0)
    store.update(_user(custom_data={"company": "Babbage & Co"}, features=()), T0 + timedelta(1))
    record = store.get("u1")
    assert record is not None
    assert record.custom_data == {"company": "Babbage & Co"}
    assert record.features == {}  # named objects (issue #9 item 7)
    assert (record.first_seen, record.last_login) == (T0, T0)


def test_update_creates_a_missing_row(store: UserStore) -> None:
    store.update(_user("new", custom_data=None), T0)
    record = store.get("new")
    assert record is not None
    assert record.custom_data is None
    assert (record.first_seen, record.last_login) == (T0, T0)


def test_get_unknown_is_none(store: UserStore) -> None:
    store.record_login(_user(), T0)
    assert store.get("nobody") is None
    assert store.get("U1") is None


def test_users_are_kept_apart(store: UserStore) -> None:
    store.record_login(_user("a", first_name="A"), T0)
    store.record_login(_user("b", first_name="B"), T0 + timedelta(hours=1))
    a, b = store.get("a"), store.get("b")
    assert a is not None
    assert b is not None
    assert (a.first_name, b.first_name) == ("A", "B")
    assert b.first_seen == T0 + timedelta(hours=1)


def test_timestamps_are_normalised_to_utc(store: UserStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    store.record_login(_user(), datetime(2024, 5, 1, 14, 0, tzinfo=plus_two))
    record = store.get("u1")
    assert record is not None
    assert record.last_login == T0
    assert record.last_login.utcoffset() == timedelta(0)


def test_naive_timestamps_are_taken_as_utc(store: UserStore) -> None:
    store.record_login(_user(), datetime(2024, 5, 1, 12, 0))
    record = store.get("u1")
    assert record is not None
    assert record.first_seen == T0


def test_unicode_and_quotes_round_trip(store: UserStore) -> None:
    user = _user("o'brien\"; DROP TABLE users; --", first_name="Zoë", custom_data={"k": "ü\n'\""})
    store.record_login(user, T0)
    record = store.get(user.user_id)
    assert record is not None
    assert record.first_name == "Zoë"
    assert record.custom_data == {"k": "ü\n'\""}


def test_store_accepts_an_authenticated_users_tool_view(store: UserStore) -> None:
    user: AuthenticatedUser[dict[str, str], dict[str, str]] = AuthenticatedUser(
        user_id="t",
        user_type="internal-user",
        auth_data={"access_token": "SECRET-ACCESS-TOKEN"},
        custom_data={"team": "x"},
    )
    store.record_login(user.tool_view(), T0)
    record = store.get("t")
    assert record is not None
    assert "SECRET-ACCESS-TOKEN" not in record.model_dump_json()


def test_concurrent_writers(store: UserStore) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(50):
                user = _user(f"user-{n}-{i % 5}", first_name=f"n{i}")
                if i % 2:
                    store.update(user, T0 + timedelta(seconds=i))
                else:
                    store.record_login(user, T0 + timedelta(seconds=i))
                store.get(user.user_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for n in range(20):
        for k in range(5):
            record = store.get(f"user-{n}-{k}")
            assert record is not None
            assert record.first_name == f"n{45 + k}"


def test_closed_store_raises_store_error(store: UserStore) -> None:
    store.close()
    with pytest.raises(StoreError) as info:
        store.get("u1")
    assert info.value.status == 503
    with pytest.raises(StoreError):
        store.record_login(_user(), T0)


# -- revoked sessions ---------------------------------------------------------------

SOON = datetime.now(UTC) + timedelta(days=7)
"""A revocation deadline in the future of the wall clock (stores prune by it)."""


def test_revoked_session_until_its_deadline(store: UserStore) -> None:
    store.revoke_session("sid-alice-0000000000", SOON)
    assert store.is_session_revoked("sid-alice-0000000000", SOON - timedelta(seconds=1))
    assert not store.is_session_revoked("sid-alice-0000000000", SOON)
    assert not store.is_session_revoked("sid-alice-0000000000", SOON + timedelta(days=1))
    assert not store.is_session_revoked("sid-bob-000000000000", T0)


def test_revoking_again_keeps_the_later_deadline(store: UserStore) -> None:
    store.revoke_session("sid-a", SOON)
    store.revoke_session("sid-a", SOON - timedelta(days=3))
    assert store.is_session_revoked("sid-a", SOON - timedelta(days=1))
    store.revoke_session("sid-a", SOON + timedelta(days=3))
    assert store.is_session_revoked("sid-a", SOON + timedelta(days=1))


def test_revocation_deadlines_compare_as_instants(store: UserStore) -> None:
    plus_two = timezone(timedelta(hours=2))
    store.revoke_session("sid-tz", SOON.astimezone(plus_two))
    assert store.is_session_revoked("sid-tz", SOON - timedelta(microseconds=1))
    assert not store.is_session_revoked("sid-tz", SOON.replace(tzinfo=None))
    store.revoke_session("sid-micro", SOON.replace(microsecond=0))
    assert store.is_session_revoked("sid-micro", SOON.replace(microsecond=0) - timedelta(0, 0, 1))


def test_ended_revocations_are_pruned_on_write(store: UserStore) -> None:
    ended = datetime.now(UTC) - timedelta(hours=1)
    store.revoke_session("sid-ended", ended)
    assert store.is_session_revoked("sid-ended", ended - timedelta(hours=1))
    store.revoke_session("sid-live", SOON)
    assert not store.is_session_revoked("sid-ended", ended - timedelta(hours=1))
    assert store.is_session_revoked("sid-live", T0)


def test_revocations_write_no_user_row(store: UserStore) -> None:
    store.revoke_session("u1", SOON)
    assert store.get("u1") is None


def test_closed_store_refuses_revocation_calls(store: UserStore) -> None:
    store.close()
    with pytest.raises(StoreError):
        store.revoke_session("sid-a", SOON)
    with pytest.raises(StoreError):
        store.is_session_revoked("sid-a", T0)
