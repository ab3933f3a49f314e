"""Every coordination backend honours one contract (in-process, SQLite, PostgreSQL, Redis).

Two instances opened with the same options stand for two processes; the
shared backends must let them see each other's leases, results and
revocations. ``inprocess`` is only checked within one instance.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from authplug.coordination import Coordination, CoordinationError, open_coordination
from authplug.errors import ConfigError


def _pair(
    open_backend: Callable[..., Coordination], **extra: Any
) -> tuple[Coordination, Coordination]:
    first = open_backend(**extra)
    second = first if not first.shared else open_backend(**extra)
    return first, second


def test_a_lease_has_one_holder_until_released(open_backend: Callable[..., Coordination]) -> None:
    a, b = _pair(open_backend)
    lease = a.try_lease("k")
    assert lease is not None
    assert b.try_lease("k") is None
    assert b.try_lease("other") is not None
    a.release(lease)
    again = b.try_lease("k")
    assert again is not None
    b.release(again)


def test_releasing_an_expired_lease_keeps_the_successors(
    open_backend: Callable[..., Coordination],
) -> None:
    a, b = _pair(open_backend, lease_ttl=1)
    first = a.try_lease("k")
    assert first is not None
    b.wait_released("k", 10)  # returns once the lease expired (nobody released it)
    second = b.try_lease("k")
    assert second is not None
    a.release(first)  # too late: must not end the successor's lease
    assert a.try_lease("k") is None
    b.release(second)


def test_a_waiter_wakes_when_the_holder_releases(
    open_backend: Callable[..., Coordination],
) -> None:
    a, b = _pair(open_backend, lease_ttl=30)
    lease = a.try_lease("k")
    assert lease is not None
    woke = threading.Event()

    def wait() -> None:
        b.wait_released("k", 20)
        woke.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert not woke.wait(0.2)
    a.release(lease)
    assert woke.wait(15)
    waiter.join()


def test_results_are_kept_for_their_ttl_and_shared(
    open_backend: Callable[..., Coordination],
) -> None:
    a, b = _pair(open_backend)
    assert b.get_result("r") is None
    a.put_result("r", "sealed-value", 30)
    assert b.get_result("r") == "sealed-value"
    a.put_result("r", "newer", 30)
    assert b.get_result("r") == "newer"
    assert b.get_result("other") is None


def test_results_expire(open_backend: Callable[..., Coordination]) -> None:
    a, b = _pair(open_backend)
    a.put_result("short", "v", 0.3)
    a.put_result("long", "v", 30)
    deadline = threading.Event()
    for _ in range(40):
        if b.get_result("short") is None:
            break
        deadline.wait(0.1)
    assert b.get_result("short") is None
    assert b.get_result("long") == "v"


def test_revocations_reach_every_subscriber(open_backend: Callable[..., Coordination]) -> None:
    a, b = _pair(open_backend)
    got: list[tuple[str, float]] = []
    arrived = threading.Event()

    def listener(sid: str, until: float) -> None:
        got.append((sid, until))
        arrived.set()

    b.subscribe_revocations(listener)
    # Subscriptions on a server become active asynchronously: publish until heard.
    for _ in range(100):
        a.publish_revocation("sid-1", 1234.5)
        if arrived.wait(0.1):
            break
    assert ("sid-1", 1234.5) in got


def test_check_describes_the_backend(
    open_backend: Callable[..., Coordination], backend_name: str
) -> None:
    assert open_backend().check().startswith(backend_name)


def test_a_closed_backend_raises_a_coordination_error(
    open_backend: Callable[..., Coordination], backend_name: str
) -> None:
    backend = open_backend()
    backend.close()
    with pytest.raises(CoordinationError) as caught:
        backend.try_lease("k")
    assert caught.value.backend == backend_name
    assert caught.value.status == 503


def test_unknown_option_is_a_config_error(backend_name: str) -> None:
    with pytest.raises(ConfigError, match="not accepted"):
        open_coordination(backend_name, {"bogus": 1})


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="inprocess, sqlite, postgres, redis"):
        open_coordination("zookeeper", {})


@pytest.mark.parametrize("value", ["0", "abc", "301"])
def test_lease_ttl_is_bounded(value: str) -> None:
    with pytest.raises(ConfigError, match="lease_ttl"):
        open_coordination("inprocess", {"lease_ttl": value})


def test_a_shared_backend_needs_configured_cookie_keys(tmp_path: Any, kit: Any) -> None:
    """Ephemeral per-process keys would make every other process refuse the cookies."""
    from authplug.config import AuthplugConfig
    from authplug.host import build_host

    backend = open_coordination("sqlite", {"path": str(tmp_path / "c.sqlite3")})
    try:
        with pytest.raises(ConfigError, match="AUTHPLUG_COOKIE_KEYS"):
            build_host(kit.TestProvider(kit.Clock()), AuthplugConfig(), coordination=backend)
    finally:
        backend.close()


@pytest.mark.parametrize("backend_name", ["postgres", "redis"])
def test_malformed_revocation_messages_are_ignored(
    open_backend: Callable[..., Coordination],
    backend_options: Callable[..., dict[str, Any]],
    backend_name: str,
) -> None:
    """Anyone who can publish on the channel cannot crash the listener with garbage."""
    listener_side = open_backend()
    got: list[tuple[str, float]] = []
    arrived = threading.Event()

    def listener(sid: str, until: float) -> None:
        got.append((sid, until))
        arrived.set()

    listener_side.subscribe_revocations(listener)
    options = backend_options()
    garbage = ["not json", '{"sid": "x"}', '{"sid": "x", "until": "soon"}', "[]"]

    def publish_raw(payload: str) -> None:
        if backend_name == "redis":
            import redis

            with redis.Redis.from_url(options["url"]) as client:
                client.publish(f"{options['prefix']}revoked", payload)
        else:
            import psycopg

            with psycopg.connect(options["dsn"], autocommit=True) as conn:
                conn.execute(b"SELECT pg_notify('authplug_revoked', %s)", (payload,))

    publisher = open_backend()
    for _ in range(100):
        for payload in garbage:
            publish_raw(payload)
        publisher.publish_revocation("good", 1.0)
        if arrived.wait(0.1):
            break
    assert got
    assert {sid for sid, _ in got} == {"good"}


def test_a_probed_backend_describes_and_refuses_everything() -> None:
    """``authplug check``'s stand-in never pretends to coordinate anything."""
    from authplug.coordination.probed import ProbedCoordination

    probed = ProbedCoordination("sqlite", "sqlite 3 at /x (exists)", lease_ttl=7, shared=True)
    assert isinstance(probed, Coordination)
    assert probed.check() == "sqlite 3 at /x (exists)"
    probed.subscribe_revocations(lambda sid, until: None)
    for call in (
        lambda: probed.try_lease("k"),
        lambda: probed.get_result("k"),
        lambda: probed.put_result("k", "v", 1),
        lambda: probed.publish_revocation("sid", 1.0),
        lambda: probed.wait_released("k", 0.1),
    ):
        with pytest.raises(CoordinationError, match="only probed") as caught:
            call()
        assert caught.value.backend == "sqlite"
    probed.close()
