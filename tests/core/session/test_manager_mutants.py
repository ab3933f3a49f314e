"""``SessionManager`` behaviours that mutation testing showed no test pinned.

Every refusal's reason (``outcome``), the chunks it clears and the chunk count
it reports, for a multi-chunk cookie and on a second read of the same value
(the opened-session cache); the clock-skew window of each timestamp; a cookie
policy passed in; chunks filled to the byte limit; ``encoded_size`` agreeing
with ``write``; and ``read`` never raising, even on a host's bad input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.results import ResponseCookie
from authplug.session import SessionData, SessionManager, SessionRead
from authplug.session.manager import CLOCK_SKEW, ReadOutcome

Headers = list[tuple[bytes, bytes]]
IDLE = 600
ABSOLUTE = 3600


def header(*pairs: tuple[str, str]) -> Headers:
    return [(b"cookie", "; ".join(f"{n}={v}" for n, v in pairs).encode("latin-1"))]


def pairs_of(cookies: tuple[ResponseCookie, ...]) -> list[tuple[str, str]]:
    return [(c.name, c.value) for c in cookies]


def refusal(manager: SessionManager, outcome: ReadOutcome, indices: tuple[int, ...]) -> SessionRead:
    """The whole answer a refusal must be: no session, these chunks cleared, the count used."""
    return SessionRead(
        session=None,
        clear=tuple(manager.policy.clear_chunk(i) for i in indices),
        needs_reseal=False,
        chunk_count=indices[-1] + 1,
        outcome=outcome,
    )


@pytest.fixture
def manager(config_factory: Callable[..., AuthplugConfig]) -> SessionManager:
    return SessionManager(config_factory(idle_timeout=IDLE, absolute_lifetime=ABSOLUTE))


@pytest.fixture
def big_user(user_factory: Callable[..., Any]) -> Any:
    """A user whose session needs three chunks."""
    return user_factory(auth_data={"t": "x" * 7000})


def three_chunks(manager: SessionManager, session: SessionData) -> tuple[ResponseCookie, ...]:
    cookies = manager.write(session)
    assert len(cookies) == 3
    return cookies


def twice(manager: SessionManager, headers: Headers, now: Any) -> list[SessionRead]:
    """Read the same request twice: the second read may come from the opened-session cache."""
    return [manager.read(headers, now), manager.read(headers, now)]


# -- every refusal says why and clears every chunk the request used ----------------------


def test_malformed_chunks(manager: SessionManager, big_user: Any, now: float) -> None:
    cookies = three_chunks(manager, manager.new_session(big_user, now))
    pairs = pairs_of(cookies)
    headers = header(pairs[0], pairs[2])  # chunk 1 missing
    assert twice(manager, headers, now) == [refusal(manager, "malformed", (0, 2))] * 2


def test_unopenable_value(manager: SessionManager, big_user: Any, now: float) -> None:
    cookies = three_chunks(manager, manager.new_session(big_user, now))
    pairs = pairs_of(cookies)
    name, value = pairs[1]
    altered = value[:100] + ("A" if value[100] != "A" else "B") + value[101:]
    headers = header(pairs[0], (name, altered), pairs[2])
    assert twice(manager, headers, now) == [refusal(manager, "unopenable", (0, 1, 2))] * 2


def test_a_sealed_payload_that_is_not_a_session_is_invalid(
    manager: SessionManager, big_user: Any, now: float
) -> None:
    valid = manager.new_session(big_user, now)
    # Sealed with the right key for the right cookie, but the sid is too short:
    # model_construct skips validation, so only read's validation can refuse it.
    broken = SessionData.model_construct(**{**dict(valid), "sid": "short"})
    headers = header(*pairs_of(three_chunks(manager, broken)))
    assert twice(manager, headers, now) == [refusal(manager, "invalid", (0, 1, 2))] * 2


@pytest.mark.parametrize("after", [IDLE + 1, ABSOLUTE + 1], ids=["idle", "absolute"])
def test_expired(manager: SessionManager, big_user: Any, now: float, after: int) -> None:
    session = manager.new_session(big_user, now)
    if after > ABSOLUTE:
        # seen recently, so only the absolute lifetime can end it
        session = session.model_copy(update={"last_seen_at": now + after - 10})
    headers = header(*pairs_of(three_chunks(manager, session)))
    assert manager.read(headers, now + after - 1).outcome == "valid"  # now cached
    assert twice(manager, headers, now + after) == [refusal(manager, "expired", (0, 1, 2))] * 2


@pytest.mark.parametrize("field", ["created_at", "last_seen_at", "validated_at"])
def test_each_timestamp_from_the_future_is_refused_on_every_read(
    manager: SessionManager, big_user: Any, now: float, field: str
) -> None:
    """The first read opens the value (and may remember it); the second must refuse it too."""
    session = manager.new_session(big_user, now).model_copy(update={field: now + CLOCK_SKEW + 1})
    headers = header(*pairs_of(three_chunks(manager, session)))
    assert twice(manager, headers, now) == [refusal(manager, "future", (0, 1, 2))] * 2
    # one second later it is inside the skew and valid, from the cache or not
    assert [r.outcome for r in twice(manager, headers, now + 1)] == ["valid", "valid"]


def test_valid_window_counts_every_timestamp(
    manager: SessionManager, big_user: Any, now: float
) -> None:
    base = manager.new_session(big_user, now)
    for field in ("created_at", "last_seen_at", "validated_at"):
        session = base.model_copy(update={field: now + 500})
        assert manager.valid_window(session)[0] == now + 500 - CLOCK_SKEW
    session = base.model_copy(update={"last_seen_at": now + 100, "validated_at": now + 200})
    assert manager.valid_window(session) == (now + 200 - CLOCK_SKEW, now + 100 + IDLE)
    late = base.model_copy(update={"last_seen_at": now + ABSOLUTE - 1})
    assert manager.valid_window(late) == (now + ABSOLUTE - 1 - CLOCK_SKEW, now + ABSOLUTE)


def test_a_failure_after_the_scan_is_error_and_clears_every_chunk(
    manager: SessionManager, big_user: Any, now: float
) -> None:
    """A host bug (no clock value) is still "no session", never an exception."""
    headers = header(*pairs_of(three_chunks(manager, manager.new_session(big_user, now))))
    assert manager.read(headers, now).outcome == "valid"
    for bad_now in (None, "now"):
        assert twice(manager, headers, bad_now) == [refusal(manager, "error", (0, 1, 2))] * 2


def test_a_header_the_host_did_not_give_as_bytes_is_error_and_clears_chunk_zero(
    manager: SessionManager, now: float
) -> None:
    """A failure before any chunk was found clears chunk 0 and reports no chunks."""
    expected = SessionRead(
        session=None, clear=(manager.policy.clear_chunk(0),), chunk_count=0, outcome="error"
    )
    name = manager.policy.chunk_name(0)
    for headers in ([(b"cookie", f"{name}=1~AAAA")], None, [(b"cookie",)]):
        assert manager.read(headers, now) == expected  # type: ignore[arg-type]
    for cookie in (f"{name}=1~AAAA", None, 42):  # a value the host did not give as bytes
        assert manager.read_cookie(cookie, now) == expected  # type: ignore[arg-type]


# -- the same sealed value split differently ---------------------------------------------


def test_the_same_value_in_more_chunks_reports_the_chunks_it_used(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    """The count a read reports is the request's, even when the value was opened before."""
    session = manager.new_session(user_factory(), now)
    (cookie,) = manager.write(session)
    name = manager.policy.chunk_name
    one = header((cookie.name, cookie.value))
    assert manager.read(one, now).chunk_count == 1
    sealed = cookie.value.removeprefix("1~")
    resplit = header((name(0), "2~" + sealed[:40]), (name(1), sealed[40:]))
    for result in twice(manager, resplit, now):
        assert result.session == session
        assert result.outcome == "valid"
        assert result.chunk_count == 2
        assert result.needs_reseal is False
    assert manager.read(one, now).chunk_count == 1


# -- construction and writing ------------------------------------------------------------


def test_a_policy_passed_in_is_the_one_used(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    config = config_factory()
    default = SessionManager(config)
    policy = dataclasses.replace(default.policy, session_name="__Host-other", header_limit=2000)
    manager = SessionManager(config, policy=policy)
    assert manager.policy is policy
    assert manager.cookie_name == "__Host-other"
    session = manager.new_session(user_factory(auth_data={"t": "x" * 3000}), now)
    cookies = manager.write(session)
    assert len(default.write(session)) == 2
    assert [c.name for c in cookies] == ["__Host-other.0", "__Host-other.1", "__Host-other.2"]
    assert all(len(c.header_value()) < 2000 for c in cookies)
    assert manager.read(header(*pairs_of(cookies)), now).session == session


def test_full_chunks_reach_the_byte_limit_exactly(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    limit = manager.policy.header_limit
    cookies = manager.write(manager.new_session(user_factory(auth_data={"t": "x" * 10000}), now))
    assert len(cookies) == 4
    # chunk 0 keeps room for the count (up to two digits); every other full chunk is
    # filled to the limit
    assert limit - 3 <= len(cookies[0].header_value()) <= limit - 1
    assert [len(c.header_value()) for c in cookies[1:-1]] == [limit - 1, limit - 1]
    assert len(cookies[-1].header_value()) < limit - 1


def test_encoded_size_is_what_write_sets_around_every_chunk_boundary(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    """Sizes on both sides of the two- to three-chunk boundary, last chunk nearly full."""

    def written(size: int) -> tuple[SessionData, tuple[ResponseCookie, ...]]:
        session = manager.new_session(user_factory(auth_data={"t": "x" * size}), now)
        return session, manager.write(session)

    low, high = 3000, 9000  # two chunks at low, three at high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(written(middle)[1]) == 2 else (low, middle)
    for size in range(high - 30, high + 5):
        session, cookies = written(size)
        assert manager.encoded_size(session) == sum(len(c.name) + 1 + len(c.value) for c in cookies)
