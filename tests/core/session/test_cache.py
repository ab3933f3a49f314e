"""The opened-session cache: a cookie sent again is not decrypted again; nothing else changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from authplug.config import AuthplugConfig
from authplug.session import SessionManager
from authplug.session.cache import OpenedSessionCache

Headers = list[tuple[bytes, bytes]]


def header(name: str, value: str) -> Headers:
    return [(b"cookie", f"{name}={value}".encode("latin-1"))]


def test_a_cookie_sent_again_is_not_decrypted_again(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
) -> None:
    manager, counting = counting_manager(config_factory())
    session = manager.new_session(user_factory(), now)
    (cookie,) = manager.write(session)
    for i in range(5):
        read = manager.read(header(cookie.name, cookie.value), now + i)
        assert read.session == session
        assert read.outcome == "valid"
    assert counting.decrypts == 1


def test_altered_values_never_come_from_the_cache(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
) -> None:
    manager, _counting = counting_manager(config_factory())
    (cookie,) = manager.write(manager.new_session(user_factory(), now))
    assert manager.read(header(cookie.name, cookie.value), now).session is not None
    count, value = cookie.value.split("~", 1)
    variants = [
        f"{count}~{value}=",  # padding: same bytes once decoded leniently
        f"{count}~{value[:-1]}",
        f"{count}~{value.replace('-', '+').replace('_', '/')}",
        f"{count}~ {value}",
        f"{count}~{value[:-2]}{'A' if value[-2] != 'A' else 'B'}{value[-1]}",
    ]
    for variant in variants:
        if variant == cookie.value:
            continue
        assert manager.read(header(cookie.name, variant), now).session is None, variant


def test_lifetimes_are_checked_on_every_hit(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
) -> None:
    manager, counting = counting_manager(config_factory(idle_timeout=100, absolute_lifetime=150))
    (cookie,) = manager.write(manager.new_session(user_factory(), now))
    assert manager.read(header(cookie.name, cookie.value), now).session is not None
    idle = manager.read(header(cookie.name, cookie.value), now + 101)
    assert idle.session is None
    assert idle.outcome == "expired"
    assert {c.name for c in idle.clear} == {cookie.name}
    future = manager.read(header(cookie.name, cookie.value), now - 61)
    assert future.session is None
    assert future.outcome == "future"
    assert counting.decrypts == 1


def test_old_key_flag_is_kept_on_hits(
    config_factory: Callable[..., AuthplugConfig],
    key_factory: Callable[[], str],
    key: str,
    user_factory: Callable[..., Any],
    now: float,
) -> None:
    old = SessionManager(config_factory())
    (cookie,) = old.write(old.new_session(user_factory(), now))
    rotated = SessionManager(config_factory(cookie_keys=[key_factory(), key]))
    for _ in range(2):
        assert rotated.read(header(cookie.name, cookie.value), now).needs_reseal is True


def test_cache_off(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
) -> None:
    manager, counting = counting_manager(config_factory(session_cache_size=0))
    (cookie,) = manager.write(manager.new_session(user_factory(), now))
    for _ in range(3):
        assert manager.read(header(cookie.name, cookie.value), now).session is not None
    assert counting.decrypts == 3


def test_cache_is_bounded_and_drops_the_oldest(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
) -> None:
    manager, counting = counting_manager(config_factory(session_cache_size=3))
    cookies = [
        manager.write(manager.new_session(user_factory(f"user-{i}"), now))[0] for i in range(5)
    ]
    for cookie in cookies:
        manager.read(header(cookie.name, cookie.value), now)
    assert counting.decrypts == 5
    manager.read(header(cookies[-1].name, cookies[-1].value), now)
    assert counting.decrypts == 5  # newest still cached
    manager.read(header(cookies[0].name, cookies[0].value), now)
    assert counting.decrypts == 6  # oldest was dropped


def test_cache_unit_bound() -> None:
    cache = OpenedSessionCache(2)
    marker: Any = object()
    for i in range(10):
        cache.put(bytes([i]), (marker, False))
    assert len(cache) == 2
    assert cache.get(bytes([9])) is not None
    assert cache.get(bytes([0])) is None


@pytest.mark.parametrize("offset", [-61.0, -60.0, 0.0, 99.0, 100.0, 101.0, 149.0, 151.0])
def test_a_hit_decides_every_instant_as_the_full_path_does(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
    offset: float,
) -> None:
    """The window folded into a cache entry gives the same answers as the checks it folds."""
    cached, _ = counting_manager(config_factory(idle_timeout=100, absolute_lifetime=150))
    cold, _ = counting_manager(
        config_factory(idle_timeout=100, absolute_lifetime=150, session_cache_size=0)
    )
    session = cached.new_session(user_factory(), now)
    session = session.model_copy(update={"last_seen_at": now + 40})  # idle ends at +140
    (cookie,) = cached.write(session)
    headers = header(cookie.name, cookie.value)
    assert cached.read(headers, now + 40).session is not None  # warm the cache
    hit = cached.read(headers, now + offset + 40)
    full = cold.read(headers, now + offset + 40)
    assert (hit.session is None) == (full.session is None)
    assert hit.outcome == full.outcome
