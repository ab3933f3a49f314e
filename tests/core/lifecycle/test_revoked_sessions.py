"""``RevokedSessions``: the bounded in-process revocation map, and its configuration."""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from authplug.asgi import AuthMiddleware
from authplug.config import AuthplugConfig
from authplug.errors import ConfigError
from authplug.host import PluginInfo, build_host
from authplug.revocation import DEFAULT_CAPACITY, RevokedSessions

NOW = 1_700_000_000.0


def test_revoked_until_the_deadline_only() -> None:
    revoked = RevokedSessions(10)
    revoked.revoke("sid-a", NOW + 100)
    assert revoked.is_revoked("sid-a", NOW)
    assert revoked.is_revoked("sid-a", NOW + 99.9)
    assert not revoked.is_revoked("sid-a", NOW + 100)
    assert not revoked.is_revoked("sid-b", NOW)


def test_a_later_deadline_wins_and_an_earlier_one_does_not_shorten() -> None:
    revoked = RevokedSessions(10)
    revoked.revoke("sid-a", NOW + 100)
    revoked.revoke("sid-a", NOW + 50)
    assert revoked.is_revoked("sid-a", NOW + 75)
    revoked.revoke("sid-a", NOW + 500)
    assert revoked.is_revoked("sid-a", NOW + 400)
    assert len(revoked) == 1


def test_twice_the_bound_keeps_the_bound_and_drops_the_oldest() -> None:
    bound = 50
    revoked = RevokedSessions(bound)
    for n in range(2 * bound):
        revoked.revoke(f"sid-{n}", NOW + 1000 + n, NOW)
        assert len(revoked) <= bound
    assert len(revoked) == bound
    assert not any(revoked.is_revoked(f"sid-{n}", NOW) for n in range(bound))
    assert all(revoked.is_revoked(f"sid-{n}", NOW) for n in range(bound, 2 * bound))


def test_expired_entries_are_pruned_before_live_ones() -> None:
    revoked = RevokedSessions(4)
    revoked.revoke("old-1", NOW + 10)
    revoked.revoke("old-2", NOW + 20)
    revoked.revoke("live", NOW + 1000)
    revoked.revoke("new", NOW + 2000, now=NOW + 30)  # old-1 and old-2 have ended
    assert len(revoked) == 2
    assert revoked.is_revoked("live", NOW + 30)
    assert revoked.is_revoked("new", NOW + 30)


def test_prune_scans_everything() -> None:
    revoked = RevokedSessions(10)
    revoked.revoke("live", NOW + 1000)
    revoked.revoke("ended", NOW + 10)
    assert revoked.prune(NOW + 20) == 1
    assert len(revoked) == 1
    assert revoked.is_revoked("live", NOW + 20)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RevokedSessions(0)


def test_concurrent_writers_respect_the_bound() -> None:
    bound = 100
    revoked = RevokedSessions(bound)
    barrier = threading.Barrier(8)

    def writer(k: int) -> None:
        barrier.wait(10)
        for n in range(500):
            revoked.revoke(f"t{k}-{n}", NOW + 10_000, NOW)
            revoked.is_revoked(f"t{k}-{n - 1}", NOW)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(revoked) == bound
    assert sum(revoked.is_revoked(f"t{k}-499", NOW) for k in range(8)) >= 1


def test_config_sets_the_bound(keys: list[str], store: Any, clock: Any, kit: ModuleType) -> None:
    assert AuthplugConfig().revocation_capacity == DEFAULT_CAPACITY == 100_000
    host = kit.make_host(
        kit.TestProvider(clock), kit.make_config(keys, revocation_capacity=3), store
    )
    middleware = AuthMiddleware(kit_app(), host=host, clock=clock)
    assert middleware.lifecycle.revocation.revoked.capacity == 3


@pytest.mark.parametrize("value", [0, -1, 10**9])
def test_config_refuses_an_unusable_bound(value: int) -> None:
    with pytest.raises(ValidationError, match="revocation_capacity"):
        AuthplugConfig(revocation_capacity=value)


def kit_app() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    return app


class OldStore:
    """A third-party store written against the four-method protocol."""

    def record_login(self, user: Any, now: Any) -> None: ...
    def update(self, user: Any, now: Any) -> None: ...
    def get(self, user_id: str) -> None: ...
    def close(self) -> None: ...


def test_a_store_without_revocation_fails_at_start_up(
    keys: list[str], clock: Any, kit: ModuleType
) -> None:
    with pytest.raises(ConfigError, match="revoke_session and is_session_revoked"):
        build_host(
            kit.TestProvider(clock),
            kit.make_config(keys),
            provider_info=PluginInfo(name="test"),
            store=OldStore(),  # type: ignore[arg-type]
        )


def test_a_stateless_provider_does_not_need_revocation(keys: list[str], kit: ModuleType) -> None:
    host = build_host(
        kit.BearerProvider(),
        kit.make_config(keys),
        provider_info=PluginInfo(name="bearer"),
        store=OldStore(),  # type: ignore[arg-type]
    )
    AuthMiddleware(kit_app(), host=host)
