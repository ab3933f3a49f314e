"""The development key used when no cookie key is configured (one per process)."""

from __future__ import annotations

import logging

import pytest

from authplug.session.keyring import _EphemeralKey


def test_a_fresh_ephemeral_key_is_32_random_bytes_kept_for_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ephemeral = _EphemeralKey()
    with caplog.at_level(logging.WARNING):
        key = ephemeral.get(quiet=True)
        assert caplog.records == []
        assert isinstance(key, bytes)
        assert len(key) == 32
        assert ephemeral.get() == key
        assert ephemeral.get() == key
    assert len([r for r in caplog.records if "ephemeral key" in r.getMessage()]) == 1
    assert _EphemeralKey().get(quiet=True) != key
