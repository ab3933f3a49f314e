"""The opened-session cache's bound, which mutation testing showed no test pinned.

With ``session_cache_size=1`` one value is remembered: reading another cookie
in between means the first is decrypted again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from authplug.config import AuthplugConfig
from authplug.session.cache import OpenedSessionCache


def test_a_cache_of_one_remembers_only_the_last_value(
    config_factory: Callable[..., AuthplugConfig],
    user_factory: Callable[..., Any],
    now: float,
    counting_manager: Any,
) -> None:
    manager, counting = counting_manager(config_factory(session_cache_size=1))
    headers = []
    for name in ("alice", "bob"):
        (cookie,) = manager.write(manager.new_session(user_factory(name), now))
        headers.append([(b"cookie", f"{cookie.name}={cookie.value}".encode("latin-1"))])
    alice, bob = headers
    for request, decrypts in ((alice, 1), (alice, 1), (bob, 2), (bob, 2), (alice, 3), (bob, 4)):
        assert manager.read(request, now).outcome == "valid"
        assert counting.decrypts == decrypts


def test_capacity_is_at_least_one_and_as_asked() -> None:
    assert OpenedSessionCache(0).capacity == 1
    assert OpenedSessionCache(1).capacity == 1
    assert OpenedSessionCache(3).capacity == 3
