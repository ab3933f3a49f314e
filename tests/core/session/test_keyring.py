"""KeyRing: rotation, key ids, the development ephemeral key."""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from authplug.config import AuthplugConfig, read_config
from authplug.errors import ConfigError
from authplug.session import KeyRing, SessionCodec
from authplug.session.keyring import key_id


def test_key_id_is_a_sha256_prefix_not_the_key() -> None:
    key = secrets.token_bytes(32)
    ring = KeyRing.from_keys([key])
    assert ring.primary.key_id == hashlib.sha256(key).digest()[:4]
    assert ring.primary.key_id == key_id(key)
    assert ring.primary.key_id not in key


def test_old_key_opens_and_reports_it() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    sealed = SessionCodec(KeyRing.from_keys([old]), "p").seal(b"data")
    rotated = SessionCodec(KeyRing.from_keys([new, old]), "p")
    assert rotated.open(sealed) == (b"data", True)
    assert rotated.open(rotated.seal(b"data")) == (b"data", False)


def test_removed_or_unknown_key_does_not_open() -> None:
    old, new = secrets.token_bytes(32), secrets.token_bytes(32)
    sealed = SessionCodec(KeyRing.from_keys([old]), "p").seal(b"data")
    assert SessionCodec(KeyRing.from_keys([new]), "p").open(sealed) is None


def test_from_config_keeps_order(
    config_factory: Callable[..., AuthplugConfig], key_factory: Callable[[], str]
) -> None:
    first, second = key_factory(), key_factory()
    ring = KeyRing.from_config(config_factory(cookie_keys=[first, second]))
    assert len(ring.entries) == 2
    sealed_by_second = SessionCodec(
        KeyRing.from_config(config_factory(cookie_keys=[second])), "p"
    ).seal(b"x")
    assert SessionCodec(ring, "p").open(sealed_by_second) == (b"x", True)


@pytest.mark.parametrize(
    "bad",
    ["not base64 !!", "c2hvcnQ", "changeme" * 4, "A" * 43],
)
def test_bad_keys_are_config_errors(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        AuthplugConfig(cookie_keys=[bad])
    with pytest.raises(ConfigError) as info:
        read_config(overrides={"cookie_keys": [bad]}, environ={}, cwd=tmp_path)
    assert "cookie_keys" in str(info.value)
    assert bad not in str(info.value)


def test_production_without_keys_is_refused(tmp_path: Path) -> None:
    config, _ = read_config(overrides={"env": "production"}, environ={}, cwd=tmp_path)
    with pytest.raises(ConfigError) as info:
        KeyRing.from_config(config)
    assert "cookie_keys" in str(info.value)


def test_production_without_keys_is_fine_for_a_provider_that_sets_no_cookie(
    tmp_path: Path,
) -> None:
    config, _ = read_config(overrides={"env": "production"}, environ={}, cwd=tmp_path)
    ring = KeyRing.from_config(config, quiet=True)  # what a stateless provider's host builds
    assert ring.primary is not None


def test_wrong_length_raw_key_is_config_error() -> None:
    with pytest.raises(ConfigError):
        KeyRing.from_keys([b"short"])
    with pytest.raises(ConfigError):
        KeyRing.from_keys([])


def test_ephemeral_key_is_one_per_process_with_one_warning() -> None:
    script = textwrap.dedent(
        """
        import logging
        from authplug.config import AuthplugConfig, read_config
        from authplug.session import KeyRing, SessionCodec, SessionManager
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
        config = AuthplugConfig(env="development")
        a, b = KeyRing.from_config(config), KeyRing.from_config(config)
        SessionManager(config)
        assert len(a.entries) == 1
        assert a.primary.key_id == b.primary.key_id
        assert SessionCodec(b, "p").open(SessionCodec(a, "p").seal(b"x")) == (b"x", False)
        print("ID", a.primary.key_id.hex())
        """
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    for run in runs:
        warnings = [line for line in run.stderr.splitlines() if line.startswith("WARNING")]
        assert len(warnings) == 1, run.stderr
        assert "ephemeral" in warnings[0]
    ids = [run.stdout.split("ID ", 1)[1].strip() for run in runs]
    assert ids[0] != ids[1]  # a new random key per process
