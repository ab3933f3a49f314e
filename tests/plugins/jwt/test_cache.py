"""The verified-token cache: hits skip the signature check, entries end at
``exp`` or the TTL, and memory stays bounded with 100,000 distinct tokens."""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest
import time_machine

from authplug.jose.cache import ENTRY_OVERHEAD, VerifiedTokenCache
from authplug.results import Authenticated
from authplug_jwt import TokenRejectedError


class CountingKey:
    """Wraps a python-jose key object and counts signature checks."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    def verify(self, msg: bytes, sig: bytes) -> bool:
        self.calls += 1
        return bool(self.inner.verify(msg, sig))


def _count_verifications(provider: Any) -> CountingKey:
    """Swap the provider's one static key for a counting wrapper (the real key still verifies)."""
    from authplug.jose.keys import KeySet, VerificationKey

    (key,) = provider.verifier.static_keys.candidates("RS256", "k1")
    counter = CountingKey(key)
    provider.verifier.static_keys = KeySet([VerificationKey("RS256", "k1", counter)])  # type: ignore[arg-type]
    return counter


def test_repeated_token_is_verified_once(kit: Any) -> None:
    provider = kit.rsa_provider()
    counter = _count_verifications(provider)
    token = kit.rs256()
    first = provider.authenticate(kit.request(token))
    for _ in range(5):
        again = provider.authenticate(kit.request(token))
        assert again is first
    assert counter.calls == 1
    assert provider.verify(token, use_cache=True)["sub"] == "user-1"
    assert counter.calls == 1
    provider.verify(token)  # the plain API never uses the cache
    assert counter.calls == 2


def test_cache_disabled(kit: Any) -> None:
    provider = kit.rsa_provider(cache_size=0)
    counter = _count_verifications(provider)
    token = kit.rs256()
    for _ in range(3):
        assert isinstance(provider.authenticate(kit.request(token)), Authenticated)
    assert counter.calls == 3
    assert provider.cache is None


def test_entry_ends_at_exp(kit: Any) -> None:
    provider = kit.rsa_provider(leeway=0, cache_ttl=3600)
    now = int(time.time())
    token = kit.rs256(exp=now + 100)
    provider.authenticate(kit.request(token))
    assert len(provider.cache) == 1
    with time_machine.travel(now + 101, tick=False), pytest.raises(TokenRejectedError) as info:
        provider.authenticate(kit.request(token))
    assert info.value.code == "token_expired"


@pytest.mark.parametrize("leeway", [0, 30])
def test_entry_ends_at_max_age(kit: Any, leeway: int) -> None:
    """Issue #8 item 2: a cached token is refused where a fresh check says token_too_old."""
    provider = kit.rsa_provider(max_age=600, leeway=leeway, cache_ttl=3600)
    counter = _count_verifications(provider)
    now = int(time.time())
    token = kit.rs256(iat=now - 590, exp=now + 3600)
    assert isinstance(provider.authenticate(kit.request(token)), Authenticated)
    with time_machine.travel(now + 5 + leeway, tick=False):
        assert isinstance(provider.authenticate(kit.request(token)), Authenticated)
    assert counter.calls == 1  # still served from the cache inside the bound
    with (
        time_machine.travel(now + 20 + leeway, tick=False),
        pytest.raises(TokenRejectedError) as info,
    ):
        provider.authenticate(kit.request(token))
    assert info.value.code == "token_too_old"
    with (
        pytest.raises(TokenRejectedError) as fresh,
        time_machine.travel(now + 20 + leeway, tick=False),
    ):
        provider.verify(token)
    assert fresh.value.code == "token_too_old"


def test_entry_honours_the_exp_leeway_and_no_more(kit: Any) -> None:
    provider = kit.rsa_provider(leeway=30, cache_ttl=3600)
    now = int(time.time())
    token = kit.rs256(exp=now + 100)
    provider.authenticate(kit.request(token))
    with time_machine.travel(now + 125, tick=False):
        assert isinstance(provider.authenticate(kit.request(token)), Authenticated)
    with time_machine.travel(now + 131, tick=False), pytest.raises(TokenRejectedError) as info:
        provider.authenticate(kit.request(token))
    assert info.value.code == "token_expired"


def test_entry_not_served_before_nbf_when_the_clock_steps_back(kit: Any) -> None:
    """A token accepted once is not served from the cache at an instant a fresh check refuses."""
    provider = kit.rsa_provider(leeway=0, cache_ttl=3600)
    now = int(time.time())
    token = kit.rs256(nbf=now - 10, iat=now - 10)
    provider.authenticate(kit.request(token))
    with time_machine.travel(now - 60, tick=False), pytest.raises(TokenRejectedError) as info:
        provider.authenticate(kit.request(token))
    assert info.value.code in {"token_not_yet_valid", "token_issued_in_future"}


def test_entry_ends_at_ttl(kit: Any) -> None:
    provider = kit.rsa_provider(cache_ttl=10)
    counter = _count_verifications(provider)
    token = kit.rs256()
    provider.authenticate(kit.request(token))
    with time_machine.travel(time.time() + 11, tick=False):
        provider.authenticate(kit.request(token))
    assert counter.calls == 2


def test_rejected_tokens_are_not_cached(kit: Any) -> None:
    provider = kit.rsa_provider()
    token = kit.rs256(aud="https://evil.example")
    for _ in range(2):
        with pytest.raises(TokenRejectedError):
            provider.authenticate(kit.request(token))
    assert len(provider.cache) == 0


def test_variant_spelling_is_not_a_hit(kit: Any) -> None:
    provider = kit.rsa_provider()
    token = kit.rs256()
    provider.authenticate(kit.request(token))
    with pytest.raises(TokenRejectedError) as info:
        provider.authenticate(kit.request(token + "="))
    assert info.value.code == "malformed_token"


def test_lru_eviction_order() -> None:
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(max_entries=2, max_bytes=10**6, ttl=60)
    cache.put("a", "A", size=10, expires_at=1e12, now=0)
    cache.put("b", "B", size=10, expires_at=1e12, now=0)
    assert cache.get("a", 1) == "A"  # a is now most recent
    cache.put("c", "C", size=10, expires_at=1e12, now=0)
    assert cache.get("b", 1) is None
    assert cache.get("a", 1) == "A"
    assert cache.get("c", 1) == "C"


def test_byte_bound() -> None:
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(
        max_entries=1000, max_bytes=10 * (100 + 3 + ENTRY_OVERHEAD), ttl=60
    )
    for i in range(50):
        cache.put(f"t{i}", "v", size=100, expires_at=1e12, now=0)  # 3-character tokens last
        assert cache.bytes_used <= cache.max_bytes
    assert len(cache) == 10
    cache.put("huge", "v", size=10**7, expires_at=1e12, now=0)
    assert cache.get("huge", 1) is None


def test_the_token_itself_is_charged_to_the_byte_bound() -> None:
    """The cache keys on the exact token, so a long token costs its length."""
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(
        max_entries=1000, max_bytes=ENTRY_OVERHEAD + 200, ttl=60
    )
    cache.put("t" * 150, "v", size=10, expires_at=1e12, now=0)
    assert cache.get("t" * 150, 1) == "v"
    assert cache.bytes_used == ENTRY_OVERHEAD + 160
    cache.put("u" * 250, "v", size=10, expires_at=1e12, now=0)  # over the bound alone
    assert cache.get("u" * 250, 1) is None
    assert cache.get("t" * 150, 1) == "v"


def _distinct_requests(kit: Any, count: int) -> list[Any]:
    header = kit.b64(b'{"alg":"RS256","kid":"k1"}')
    now = int(time.time())
    requests = []
    for i in range(count):
        payload = kit.b64(
            (
                f'{{"iss":"{kit.ISSUER}","aud":"{kit.AUDIENCE}","sub":"user-{i}","iat":{now},'
                f'"exp":{now + 300},"given_name":"Ada","roles":["reader","writer"],'
                f'"email":"u{i}@example.com"}}'
            ).encode()
        )
        requests.append(kit.request(f"{header}.{payload}.AAAA"))
    return requests


def test_bound_holds_with_100k_distinct_tokens(kit: Any) -> None:
    bound = 2 * 1024 * 1024
    provider = kit.rsa_provider(cache_size=1_000_000, cache_max_bytes=bound)
    provider.verifier.static_keys = _AlwaysValid()  # type: ignore[assignment]
    for request in _distinct_requests(kit, 100_000):
        provider.authenticate(request)
        assert provider.cache.bytes_used <= bound
    assert 0 < len(provider.cache) < 100_000


def test_real_memory_stays_under_the_bound(kit: Any) -> None:
    bound = 1024 * 1024
    provider = kit.rsa_provider(cache_size=1_000_000, cache_max_bytes=bound)
    provider.verifier.static_keys = _AlwaysValid()  # type: ignore[assignment]
    requests = _distinct_requests(kit, 3_000)  # several times what fits: evictions happen
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for request in requests:
            provider.authenticate(request)
        used = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert len(provider.cache) < len(requests)
    assert used <= bound, f"the cache holds {used} bytes for a {bound} byte bound"


class _AlwaysValid:
    """A key set whose one key accepts any signature (to fill the cache fast)."""

    def candidates(self, alg: str, kid: str | None) -> tuple[Any, ...]:
        return (self,)

    def knows_kid(self, kid: str) -> bool:
        return True

    def verify(self, msg: bytes, sig: bytes) -> bool:
        return True
