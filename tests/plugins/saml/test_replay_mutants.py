"""``ReplayCache``: one use per (IdP, assertion id), kept in the real memory store.

Mutation testing showed the IdP's part of the key could be dropped unnoticed
(every test uses one IdP): the same assertion id from two IdPs is two
assertions; from one IdP it is a replay.
"""

from __future__ import annotations

import time

import pytest

from authplug.errors import ConfigError
from authplug.stores.memory import MemoryUserStore
from authplug_saml.errors import SamlRejectedError
from authplug_saml.replay import ReplayCache


def test_an_assertion_id_is_claimed_once_per_idp() -> None:
    cache = ReplayCache(MemoryUserStore())
    now = time.time()
    cache.claim("https://idp-a.example", "_id-1", now + 300, now)
    cache.claim("https://idp-b.example", "_id-1", now + 300, now)  # another IdP's assertion
    cache.claim("https://idp-a.example", "_id-2", now + 300, now)
    with pytest.raises(SamlRejectedError) as caught:
        cache.claim("https://idp-a.example", "_id-1", now + 300, now)
    assert caught.value.code == "replayed_assertion"


def test_the_key_names_the_issuer_and_the_id() -> None:
    key = ReplayCache.key("https://idp.example", "_abc")
    assert key.startswith("saml-assertion:")
    assert key != ReplayCache.key("https://other.example", "_abc")
    assert key != ReplayCache.key("https://idp.example", "_abd")
    assert key == ReplayCache.key("https://idp.example", "_abc")


def test_a_store_without_claim_once_is_a_config_error() -> None:
    """A store that cannot record one-time keys is refused when the cache is made, typed."""
    with pytest.raises(ConfigError, match="claim_once"):
        ReplayCache(object())  # type: ignore[arg-type]
