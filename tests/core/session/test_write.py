"""SessionManager writing: chunk sizes, limits, stale chunks, attributes, touch, clear."""

from __future__ import annotations

import base64
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest
from pydantic import ValidationError

from authplug.config import AuthplugConfig
from authplug.errors import SessionTooLargeError
from authplug.results import ResponseCookie
from authplug.session import SessionData, SessionManager

Headers = list[tuple[bytes, bytes]]


def header(cookies: tuple[ResponseCookie, ...]) -> Headers:
    pairs = [f"{c.name}={c.value}" for c in cookies if c.max_age != 0]
    return [(b"cookie", "; ".join(pairs).encode())]


def parse_set_cookie(value: str) -> tuple[str, str, dict[str, str]]:
    """Parse a Set-Cookie header value by hand: (name, value, lower-case attributes)."""
    first, *rest = value.split("; ")
    name, _, cookie_value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, attr = part.partition("=")
        assert key.lower() not in attributes, f"duplicate attribute {key}"
        attributes[key.lower()] = attr
    return name, cookie_value, attributes


def test_ten_kb_of_auth_data_spans_chunks_that_each_fit(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    auth_data = {
        f"token{i}": base64.b64encode(bytes(range(256)) * 4).decode()[:1000] for i in range(10)
    }
    session = manager.new_session(user_factory(auth_data=auth_data), now)
    cookies = manager.write(session)
    assert len(cookies) >= 3
    for index, cookie in enumerate(cookies):
        assert cookie.name == f"{manager.cookie_name}.{index}"
        assert len(cookie.header_value().encode("utf-8")) < 4096
    assert cookies[0].value.startswith(f"{len(cookies)}~")
    result = manager.read(header(cookies), now)
    assert result.session == session
    assert result.chunk_count == len(cookies)
    assert result.session is not None
    assert result.session.user.auth_data == auth_data
    assert manager.encoded_size(session) == sum(len(c.name) + 1 + len(c.value) for c in cookies)


def test_chunks_fill_up_to_the_byte_limit(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    cookies = manager.write(
        manager.new_session(user_factory(auth_data={f"t{i}": "x" * 3000 for i in range(4)}), now)
    )
    full = [len(c.header_value()) for c in cookies[:-1]]
    assert all(4090 <= size <= 4095 for size in full)


@pytest.mark.parametrize("secure", [True, False])
def test_size_boundary_never_emits_4096(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    secure: bool,
) -> None:
    manager = SessionManager(config_factory(cookie_secure=secure))
    for size in range(2200, 3400, 7):
        cookies = manager.write(manager.new_session(user_factory(auth_data={"t": "x" * size}), now))
        assert all(len(c.header_value()) < 4096 for c in cookies)
        assert manager.read(header(cookies), now).session is not None


def test_over_max_chunks_raises(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    manager = SessionManager(config_factory(max_cookie_chunks=2))
    fits = manager.new_session(user_factory(auth_data={"t": "x" * 4000}), now)
    assert len(manager.write(fits)) == 2
    too_big = manager.new_session(user_factory(auth_data={"t": "x" * 7000}), now)
    with pytest.raises(SessionTooLargeError) as info:
        manager.write(too_big)
    assert "xxxx" not in str(info.value)
    assert manager.encoded_size(too_big) > manager.cookie_budget >= manager.encoded_size(fits)


def test_stale_chunks_are_cleared_when_the_session_shrinks(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    big = manager.write(manager.new_session(user_factory(auth_data={"t": "x" * 7000}), now))
    assert len(big) == 3
    previous = manager.read(header(big), now)
    assert previous.chunk_count == 3
    small = manager.new_session(user_factory(), now)
    cookies = manager.write(small, previous_chunk_count=previous.chunk_count)
    sets = [c for c in cookies if c.max_age != 0]
    clears = [c for c in cookies if c.max_age == 0]
    assert [c.name for c in sets] == [manager.policy.chunk_name(0)]
    assert [c.name for c in clears] == [manager.policy.chunk_name(1), manager.policy.chunk_name(2)]
    assert all(c.value == "" and c.secure for c in clears)
    # Had the browser kept a stale chunk, the session would be rejected.
    stale = header((*sets, big[2]))
    assert manager.read(stale, now).session is None


def test_clear_deletes_every_chunk_and_the_flow_cookies(manager: SessionManager) -> None:
    names = [c.name for c in manager.clear(0)]
    assert names == [manager.policy.chunk_name(0)]
    flow = manager.policy.flow_txn_name("q3VvKx0c1Yd6tS2mH9bQzA")
    cleared = manager.clear(3, [flow])
    assert [c.name for c in cleared] == [
        *(manager.policy.chunk_name(i) for i in range(3)),
        flow,
    ]
    for cookie in cleared:
        _, value, attributes = parse_set_cookie(cookie.header_value())
        assert value == ""
        assert attributes["max-age"] == "0"
        assert "secure" in attributes
        assert attributes["path"] == "/"


def check_attributes(
    manager: SessionManager, cookie: ResponseCookie, *, secure: bool, max_age: int
) -> None:
    text = cookie.header_value()
    name, _, attributes = parse_set_cookie(text)
    assert name.startswith("__Host-") is secure
    assert ("secure" in attributes) is secure
    assert "httponly" in attributes
    assert attributes["samesite"] == "Lax"
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    assert "expires" not in attributes
    assert int(attributes["max-age"]) == max_age
    # An independent parser agrees.
    jar: SimpleCookie = SimpleCookie()
    jar.load(text)
    morsel = jar[name]
    assert morsel["httponly"] is True
    assert bool(morsel["secure"]) is secure
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert morsel["domain"] == ""


@pytest.mark.parametrize(
    ("overrides", "secure"),
    [
        ({"cookie_secure": True}, True),
        ({"cookie_secure": None, "env": "production"}, True),
        ({"cookie_secure": False}, False),
        ({"cookie_secure": None, "env": "development"}, False),
    ],
)
def test_set_cookie_attributes(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    overrides: dict[str, Any],
    secure: bool,
) -> None:
    config = config_factory(absolute_lifetime=86400, flow_lifetime=300, **overrides)
    manager = SessionManager(config)
    prefix = "__Host-" if secure else ""
    assert manager.cookie_name == prefix + "authplug_session"
    assert manager.flow_cookie_name == prefix + "authplug_flow"
    for cookie in manager.write(
        manager.new_session(user_factory(auth_data={"t": "x" * 5000}), now)
    ):
        check_attributes(manager, cookie, secure=secure, max_age=86400)
    flow = manager.open_flow([], now)
    flow.begin({"state": "s"})
    (flow_cookie,) = flow.cookies()
    check_attributes(manager, flow_cookie, secure=secure, max_age=300)
    for cookie in manager.clear(2):
        check_attributes(manager, cookie, secure=secure, max_age=0)


def test_custom_cookie_name(config_factory: Callable[..., AuthplugConfig]) -> None:
    manager = SessionManager(config_factory(cookie_name="shop"))
    assert manager.cookie_name == "__Host-shop"
    assert manager.flow_cookie_name == "__Host-shop_flow"


def test_new_session_has_a_fresh_random_sid(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    user = user_factory()
    sids = {manager.new_session(user, now).sid for _ in range(100)}
    assert len(sids) == 100
    session = manager.new_session(user, now)
    assert len(base64.urlsafe_b64decode(session.sid + "==")) == 16
    assert session.created_at == session.last_seen_at == session.validated_at == now
    assert session.user.user_id == user.user_id
    assert session.user.auth_data == user.auth_data


def test_session_data_is_frozen_and_strict(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    session = manager.new_session(user_factory(), now)
    with pytest.raises(ValidationError):
        session.sid = "x" * 22  # type: ignore[misc]
    data = session.model_dump()
    with pytest.raises(ValidationError):
        SessionData.model_validate({**data, "admin": True})
    with pytest.raises(ValidationError):
        SessionData.model_validate({**data, "created_at": float("nan")})


def test_touch_only_when_worth_it(
    config_factory: Callable[..., AuthplugConfig], user_factory: Callable[..., Any], now: float
) -> None:
    manager = SessionManager(config_factory(idle_timeout=8 * 3600, absolute_lifetime=86400))
    session = manager.new_session(user_factory(), now)
    threshold = 8 * 3600 / 20
    assert manager.touch(session, now) is None
    assert manager.touch(session, now + threshold - 1) is None
    touched = manager.touch(session, now + threshold)
    assert touched is not None
    assert touched.last_seen_at == now + threshold
    assert touched.model_copy(update={"last_seen_at": session.last_seen_at}) == session
    short = SessionManager(config_factory(idle_timeout=600, absolute_lifetime=3600))
    assert short.touch(session, now + 59) is None  # floor of 60 s
    assert short.touch(session, now + 60) is not None


def test_tokens_are_not_readable_in_the_cookie(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.secret-token"
    cookies = manager.write(
        manager.new_session(user_factory(auth_data={"access_token": token}), now)
    )
    for cookie in cookies:
        body = cookie.value.partition("~")[2] or cookie.value
        decoded = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        # the token's own text, not a 3-character fragment that random
        # ciphertext's base64 contains in about one run in a hundred
        assert token.encode() not in decoded
        assert b"eyJhbGciOiJIUzI1NiJ9" not in decoded
        assert b"secret-token" not in decoded
        assert "eyJhbGciOiJIUzI1NiJ9" not in cookie.header_value()


def test_same_session_seals_differently_each_time(
    manager: SessionManager, user_factory: Callable[..., Any], now: float
) -> None:
    session = manager.new_session(user_factory(), now)
    assert manager.write(session) != manager.write(session)


def test_cookie_budget(config_factory: Callable[..., AuthplugConfig]) -> None:
    manager = SessionManager(config_factory(max_cookie_chunks=3))
    assert 3 * 3900 < manager.cookie_budget < 3 * 4096
