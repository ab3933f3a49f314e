"""SessionManager.read against tampered, truncated, foreign, spliced and oversized cookies."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.results import ResponseCookie
from authplug.session import SessionData, SessionManager, SessionRead

Headers = list[tuple[bytes, bytes]]


@pytest.fixture
def session(manager: SessionManager, user_factory: Callable[..., Any], now: float) -> SessionData:
    return manager.new_session(user_factory(), now)


@pytest.fixture
def cookies(manager: SessionManager, session: SessionData) -> tuple[ResponseCookie, ...]:
    return manager.write(session)


def header(*pairs: tuple[str, str]) -> Headers:
    return [(b"cookie", "; ".join(f"{n}={v}" for n, v in pairs).encode("latin-1"))]


def assert_rejected(manager: SessionManager, result: SessionRead, *indices: int) -> None:
    assert result.session is None
    assert result.needs_reseal is False
    cleared = {c.name for c in result.clear}
    assert cleared == {manager.policy.chunk_name(i) for i in (indices or (0,))}
    for cookie in result.clear:
        assert cookie.value == ""
        assert cookie.max_age == 0
        assert cookie.secure is manager.policy.secure


def test_valid_cookie_round_trips(
    manager: SessionManager,
    session: SessionData,
    cookies: tuple[ResponseCookie, ...],
    headers_for: Callable[..., Headers],
    now: float,
) -> None:
    result = manager.read(headers_for(cookies, extra="theme=dark"), now + 5)
    assert result.session == session
    assert result.outcome == "valid"
    assert result.clear == ()
    assert result.needs_reseal is False
    assert result.chunk_count == 1


def test_no_cookie_is_no_session_and_nothing_to_clear(manager: SessionManager, now: float) -> None:
    for headers in ([], [(b"cookie", b"")], [(b"cookie", b"a=b; c=d")], [(b"accept", b"*/*")]):
        result = manager.read(headers, now)
        assert result == SessionRead(session=None)


def test_bit_flip_at_every_byte_position(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now: float
) -> None:
    (cookie,) = cookies
    count, _, sealed = cookie.value.partition("~")
    data = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 1 << (position % 8)
        value = base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
        result = manager.read(header((cookie.name, f"{count}~{value}")), now)
        assert_rejected(manager, result)


def test_every_character_substitution_of_the_cookie_value(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now: float
) -> None:
    (cookie,) = cookies
    value = cookie.value
    for position in range(len(value)):
        replacement = "B" if value[position] != "B" else "C"
        tampered = value[:position] + replacement + value[position + 1 :]
        result = manager.read(header((cookie.name, tampered)), now)
        assert_rejected(manager, result)


@pytest.mark.parametrize("cut", [1, 16, 32])
def test_truncated_value(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now: float, cut: int
) -> None:
    (cookie,) = cookies
    assert_rejected(manager, manager.read(header((cookie.name, cookie.value[:-cut])), now))


@pytest.mark.parametrize("value", ["", "1~", "1~A", "1~AQ", "~", "1", "0~", "AQID"])
def test_empty_or_header_only_value(manager: SessionManager, now: float, value: str) -> None:
    assert_rejected(manager, manager.read(header((manager.policy.chunk_name(0), value)), now))


def test_only_the_version_and_key_id(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now: float
) -> None:
    (cookie,) = cookies
    sealed = cookie.value.partition("~")[2]
    data = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    for size in (1, 5, 17, 32):
        value = "1~" + base64.urlsafe_b64encode(data[:size]).decode().rstrip("=")
        assert_rejected(manager, manager.read(header((cookie.name, value)), now))


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda v: v + "=", id="padding"),
        pytest.param(lambda v: v + "==", id="padding2"),
        pytest.param(lambda v: v.replace("-", "+").replace("_", "/") + "+/", id="std-alphabet"),
        pytest.param(lambda v: v + "!!", id="junk"),
        pytest.param(lambda v: v[:20] + " " + v[20:], id="inner-space"),
        pytest.param(lambda v: v[:20] + "\t" + v[20:], id="inner-tab"),
        pytest.param(lambda v: v[:20] + "ü" + v[20:], id="non-ascii"),
        pytest.param(lambda v: '"' + v + '"', id="quoted"),
        pytest.param(lambda v: v[:20] + "," + v[20:], id="comma"),
    ],
)
def test_non_canonical_encoding(
    manager: SessionManager,
    cookies: tuple[ResponseCookie, ...],
    now: float,
    mutate: Callable[[str], str],
) -> None:
    (cookie,) = cookies
    value = mutate(cookie.value)
    assert value != cookie.value
    result = manager.read([(b"cookie", f"{cookie.name}={value}".encode())], now)
    assert_rejected(manager, result)


def test_chunk_splicing_across_two_users(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    big = {"access_token": "a" * 4000}
    alice = manager.write(manager.new_session(user_factory("alice", auth_data=big), now))
    mallory = manager.write(manager.new_session(user_factory("mallory", auth_data=big), now))
    assert len(alice) == len(mallory) == 2
    spliced = header((alice[0].name, alice[0].value), (mallory[1].name, mallory[1].value))
    assert_rejected(manager, manager.read(spliced, now), 0, 1)
    spliced = header((mallory[0].name, mallory[0].value), (alice[1].name, alice[1].value))
    assert_rejected(manager, manager.read(spliced, now), 0, 1)
    # The untouched pairs still work.
    assert manager.read(header(*((c.name, c.value) for c in alice)), now).session is not None


@pytest.fixture
def three(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> tuple[ResponseCookie, ...]:
    cookies = manager.write(manager.new_session(user_factory(auth_data={"t": "x" * 7000}), now))
    assert len(cookies) == 3
    return cookies


def test_three_chunks_in_any_header_order(
    manager: SessionManager, three: tuple[ResponseCookie, ...], now: float
) -> None:
    pairs = [(c.name, c.value) for c in three]
    assert manager.read(header(*reversed(pairs)), now).session is not None
    # Split over several Cookie headers (HTTP/2 may do this).
    headers = [(b"cookie", f"{n}={v}".encode()) for n, v in pairs]
    result = manager.read(headers, now)
    assert result.session is not None
    assert result.chunk_count == 3


def test_missing_chunk(
    manager: SessionManager, three: tuple[ResponseCookie, ...], now: float
) -> None:
    pairs = [(c.name, c.value) for c in three]
    assert_rejected(manager, manager.read(header(pairs[0], pairs[2]), now), 0, 2)
    assert_rejected(manager, manager.read(header(pairs[1], pairs[2]), now), 1, 2)
    assert_rejected(manager, manager.read(header(pairs[0], pairs[1]), now), 0, 1)


def test_duplicated_chunk(
    manager: SessionManager, three: tuple[ResponseCookie, ...], now: float
) -> None:
    pairs = [(c.name, c.value) for c in three]
    assert_rejected(manager, manager.read(header(*pairs, pairs[1]), now), 0, 1, 2)
    assert_rejected(manager, manager.read(header(pairs[0], *pairs), now), 0, 1, 2)


def test_extra_chunk_beyond_the_count(
    manager: SessionManager, three: tuple[ResponseCookie, ...], now: float
) -> None:
    pairs = [(c.name, c.value) for c in three]
    extra = (manager.policy.chunk_name(3), "AAAA")
    result = manager.read(header(*pairs, extra), now)
    assert_rejected(manager, result, 0, 1, 2, 3)
    assert result.chunk_count == 4


def test_count_marker_tampered(
    manager: SessionManager, three: tuple[ResponseCookie, ...], now: float
) -> None:
    pairs = [(c.name, c.value) for c in three]
    body = pairs[0][1].partition("~")[2]
    for count in ("999", "2", "4", "0", "03", "-1", "", "99"):
        forged = [(pairs[0][0], f"{count}~{body}"), *pairs[1:]]
        assert_rejected(manager, manager.read(header(*forged), now), 0, 1, 2)


def test_chunk_index_beyond_the_maximum(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now: float
) -> None:
    (cookie,) = cookies
    far = manager.policy.chunk_name(manager.policy.max_chunks)
    assert_rejected(
        manager,
        manager.read(header((cookie.name, cookie.value), (far, "x")), now),
        0,
        manager.policy.max_chunks,
    )


def test_one_mib_cookie_header_never_reaches_decrypt(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
) -> None:
    manager, counting = counting_manager(config_factory())
    (cookie,) = manager.write(manager.new_session(user_factory(), now))
    assert manager.read(header((cookie.name, cookie.value)), now).session is not None
    assert counting.decrypts == 1

    mib = 1024 * 1024
    name0 = manager.policy.chunk_name(0)
    attacks: list[Headers] = [
        header((name0, "1~" + "A" * mib)),  # one huge chunk
        header((name0, cookie.value + "A" * mib)),  # valid prefix, huge tail
        header(*((manager.policy.chunk_name(i % 5), "A" * 4000) for i in range(mib // 4000))),
        header(
            *((f"other{i}", "A" * 100) for i in range(mib // 100)), (name0, "999~" + "A" * 4000)
        ),
        [(b"cookie", (f"{name0}=1~A;" * (mib // len(name0) + 1)).encode())],
    ]
    for headers in attacks:
        assert sum(len(v) for _, v in headers) >= mib - 8192
        result = manager.read(headers, now)
        assert result.session is None
        assert result.clear
    assert counting.decrypts == 1


def test_flow_cookie_presented_as_session_cookie(manager: SessionManager, now: float) -> None:
    flow = manager.open_flow([], now)
    flow.begin({"state": "s", "nonce": "n"})
    (flow_cookie,) = flow.cookies()
    result = manager.read(header((manager.policy.chunk_name(0), "1~" + flow_cookie.value)), now)
    assert_rejected(manager, result)
    assert result.outcome == "unopenable"


def test_cookie_from_another_app_with_the_same_key(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    ours = SessionManager(config_factory())
    theirs = SessionManager(config_factory(cookie_name="other_app"))
    (cookie,) = theirs.write(theirs.new_session(user_factory(), now))
    renamed = header((ours.policy.chunk_name(0), cookie.value))
    assert_rejected(ours, ours.read(renamed, now))


def test_cookie_from_a_removed_key(
    config_factory: Callable[..., AuthplugConfig],
    key_factory: Callable[[], str],
    user_factory: Callable[..., Any],
    now: float,
) -> None:
    old, new = key_factory(), key_factory()
    before = SessionManager(config_factory(cookie_keys=[old]))
    cookies = before.write(before.new_session(user_factory(), now))
    after = SessionManager(config_factory(cookie_keys=[new]))
    result = after.read(header(*((c.name, c.value) for c in cookies)), now)
    assert_rejected(after, result)


def test_old_key_cookie_is_accepted_and_needs_reseal(
    config_factory: Callable[..., AuthplugConfig],
    key_factory: Callable[[], str],
    user_factory: Callable[..., Any],
    now: float,
) -> None:
    old, new = key_factory(), key_factory()
    before = SessionManager(config_factory(cookie_keys=[old]))
    session = before.new_session(user_factory(), now)
    cookies = before.write(session)
    rotated = SessionManager(config_factory(cookie_keys=[new, old]))
    result = rotated.read(header(*((c.name, c.value) for c in cookies)), now)
    assert result.session == session
    assert result.needs_reseal is True
    resealed = rotated.write(session, previous_chunk_count=result.chunk_count)
    again = rotated.read(header(*((c.name, c.value) for c in resealed)), now)
    assert again.session == session
    assert again.needs_reseal is False
    only_new = SessionManager(config_factory(cookie_keys=[new]))
    assert only_new.read(header(*((c.name, c.value) for c in resealed)), now).session == session


def test_idle_timeout(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    manager = SessionManager(config_factory(idle_timeout=600, absolute_lifetime=3600))
    headers = header(
        *((c.name, c.value) for c in manager.write(manager.new_session(user_factory(), now)))
    )
    assert manager.read(headers, now + 600).session is not None
    result = manager.read(headers, now + 601)
    assert_rejected(manager, result)
    assert result.outcome == "expired"


def test_touch_extends_idle_but_not_absolute(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    manager = SessionManager(config_factory(idle_timeout=600, absolute_lifetime=1000))
    session = manager.new_session(user_factory(), now)
    t = now
    for _ in range(3):
        t += 500
        headers = header(*((c.name, c.value) for c in manager.write(session)))
        result = manager.read(headers, t)
        if t - now > 1000:
            assert_rejected(manager, result)
            assert result.outcome == "expired"
            break
        assert result.session is not None
        touched = manager.touch(result.session, t)
        assert touched is not None
        session = touched
    else:
        pytest.fail("absolute lifetime never ended the session")


def test_absolute_lifetime_from_inside_the_payload(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    manager = SessionManager(config_factory(idle_timeout=600, absolute_lifetime=3600))
    session = manager.new_session(user_factory(), now).model_copy(
        update={"last_seen_at": now + 3500}
    )
    headers = header(*((c.name, c.value) for c in manager.write(session)))
    assert manager.read(headers, now + 3600).session is not None
    assert_rejected(manager, manager.read(headers, now + 3601))


@pytest.mark.parametrize("field", ["created_at", "last_seen_at", "validated_at"])
def test_timestamps_in_the_future(
    manager: SessionManager, session: SessionData, now: float, field: str
) -> None:
    ok = manager.write(session.model_copy(update={field: now + 60}))
    assert manager.read(header(*((c.name, c.value) for c in ok)), now).session is not None
    bad = manager.write(session.model_copy(update={field: now + 61}))
    result = manager.read(header(*((c.name, c.value) for c in bad)), now)
    assert_rejected(manager, result)
    assert result.outcome == "future"


def test_prefix_confusion_is_not_our_cookie(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now: float
) -> None:
    (cookie,) = cookies
    base = manager.cookie_name
    # Names that merely contain ours, and our name inside another cookie's value.
    lookalikes = [
        (f"x{base}.0", "junk"),
        (f"{base}.x", "junk"),
        (f"{base}.00", "junk"),
        (f"{base}", "junk"),
        ("other", f"{base}.0=junk"),
    ]
    result = manager.read(header(*lookalikes, (cookie.name, cookie.value)), now)
    assert result.session is not None
    assert manager.read(header(*lookalikes), now) == SessionRead(session=None)


def test_session_cookie_sent_under_the_unprefixed_name_is_ignored(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now: float
) -> None:
    (cookie,) = cookies
    assert cookie.name.startswith("__Host-")
    plain = cookie.name.removeprefix("__Host-")
    assert manager.read(header((plain, cookie.value)), now) == SessionRead(session=None)


def test_random_garbage_never_raises(manager: SessionManager, now: float) -> None:
    name0 = manager.policy.chunk_name(0).encode()
    rng = secrets.SystemRandom()
    for _ in range(500):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        for headers in (
            [(b"cookie", name0 + b"=" + junk)],
            [(b"cookie", name0 + b"=1~" + junk)],
            [(b"cookie", junk + b"; " + name0 + b"=" + junk)],
        ):
            result = manager.read(headers, now)
            assert result.session is None


@pytest.mark.parametrize("now_value", [float("nan"), float("inf"), -1.0, 0.0])
def test_odd_clock_values_never_yield_a_session(
    manager: SessionManager, cookies: tuple[ResponseCookie, ...], now_value: float
) -> None:
    (cookie,) = cookies
    assert manager.read(header((cookie.name, cookie.value)), now_value).session is None


def test_several_cookie_headers_read_as_their_join(
    manager: SessionManager, three: tuple[ResponseCookie, ...], now: float
) -> None:
    """Several Cookie headers read exactly as the one header ``"; "`` joins them into."""
    pairs = [(c.name, c.value) for c in three]
    values = [f"{n}={v}".encode() for n, v in pairs]
    headers = [(b"cookie", v) for v in values] + [(b"accept", b"*/*")]
    assert manager.read(headers, now) == manager.read_cookie(b"; ".join(values), now)
    # chunk 0 sent twice, once per header: malformed, as in one header
    twice = [(b"cookie", values[0]), (b"cookie", values[0])]
    assert manager.read(twice, now) == manager.read_cookie(values[0] + b"; " + values[0], now)
    assert manager.read(twice, now).outcome == "malformed"
    assert manager.read([(b"accept", b"*/*")], now) == manager.read_cookie(b"", now)
