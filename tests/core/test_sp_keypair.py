"""``authplug keygen --saml`` and :mod:`authplug.sp_keypair`."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from authplug.cli import main
from authplug.sp_keypair import make_sp_keypair, write_sp_keypair


def test_keypair_matches_and_is_self_signed() -> None:
    pair = make_sp_keypair("sp.example", days=30, bits=2048)
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    key = serialization.load_pem_private_key(pair.key_pem, password=None)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert cert.subject == cert.issuer
    assert "sp.example" in cert.subject.rfc4514_string()
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days in (29, 30)
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"


@pytest.mark.parametrize(
    ("name", "days", "bits"),
    [("", 30, 2048), ("x", 0, 2048), ("x", 30, 1024), ("x" * 65, 30, 2048)],
)
def test_bad_parameters(name: str, days: int, bits: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        make_sp_keypair(name, days=days, bits=bits)


def test_files_are_private_and_never_overwritten(tmp_path: Path) -> None:
    pair = make_sp_keypair("sp", bits=2048)
    key, cert = tmp_path / "sp.key", tmp_path / "sp.crt"
    write_sp_keypair(pair, key, cert)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes() == pair.key_pem
    with pytest.raises(FileExistsError):
        write_sp_keypair(make_sp_keypair("sp", bits=2048), key, tmp_path / "other.crt")
    assert key.read_bytes() == pair.key_pem
    assert not (tmp_path / "other.crt").exists()


def test_cli_writes_the_pair_and_prints_the_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", "--saml", "--out", str(tmp_path), "--name", "app.example"]) == 0
    printed = capsys.readouterr().out
    assert f'sp_key_file = "{tmp_path / "sp.key"}"' in printed
    cert = x509.load_pem_x509_certificate((tmp_path / "sp.crt").read_bytes())
    assert "app.example" in cert.subject.rfc4514_string()
    assert main(["keygen", "--saml", "--out", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
