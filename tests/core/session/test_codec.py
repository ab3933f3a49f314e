"""SessionCodec: AES-256-GCM sealing, strict base64url, purpose binding."""

from __future__ import annotations

import base64
import secrets

import pytest

from authplug.session import KeyRing, SessionCodec
from authplug.session.codec import (
    FORMAT_VERSION,
    HEADER_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    b64url_decode,
    b64url_encode,
)
from authplug.session.keyring import KEY_ID_SIZE


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.from_keys([secrets.token_bytes(32)])


@pytest.fixture
def codec(ring: KeyRing) -> SessionCodec:
    return SessionCodec(ring, "session:test")


def raw(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def test_round_trip_and_layout(codec: SessionCodec, ring: KeyRing) -> None:
    sealed = codec.seal(b'{"hello":"world"}')
    assert codec.open(sealed) == (b'{"hello":"world"}', False)
    assert codec.open(sealed.encode()) == (b'{"hello":"world"}', False)
    data = raw(sealed)
    assert data[0] == FORMAT_VERSION
    assert data[1 : 1 + KEY_ID_SIZE] == ring.primary.key_id
    assert len(data) == HEADER_SIZE + len(b'{"hello":"world"}') + TAG_SIZE
    assert b"hello" not in data
    assert "=" not in sealed
    assert set(sealed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_empty_plaintext_round_trips(codec: SessionCodec) -> None:
    assert codec.open(codec.seal(b"")) == (b"", False)


def test_ten_thousand_seals_have_distinct_nonces(codec: SessionCodec) -> None:
    nonces = {
        raw(codec.seal(b"same plaintext"))[1 + KEY_ID_SIZE : HEADER_SIZE] for _ in range(10_000)
    }
    assert len(nonces) == 10_000
    assert all(len(n) == NONCE_SIZE for n in nonces)


def test_length_does_not_depend_on_secret_content(codec: SessionCodec) -> None:
    lengths = set()
    for secret in ("a" * 64, "A" * 64, secrets.token_urlsafe(48)[:64], "abcd" * 16):
        assert len(secret) == 64
        lengths.add(len(codec.seal(b'{"token":"' + secret.encode() + b'"}')))
    assert len(lengths) == 1


def test_every_single_bit_flip_is_rejected(codec: SessionCodec) -> None:
    data = raw(codec.seal(b"payload of some length"))
    for position in range(len(data)):
        for bit in (0x01, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= bit
            assert codec.open(b64url_encode(bytes(tampered))) is None, (position, bit)


@pytest.mark.parametrize("cut", [1, 16, 32])
def test_truncation_is_rejected(codec: SessionCodec, cut: int) -> None:
    sealed = codec.seal(b"some payload that is long enough to cut")
    assert codec.open(sealed[:-cut]) is None


@pytest.mark.parametrize("value", ["", "A", "AQ", "AQID", b64url_encode(bytes([FORMAT_VERSION]))])
def test_empty_or_header_only_is_rejected(codec: SessionCodec, value: str) -> None:
    assert codec.open(value) is None


def test_header_without_ciphertext_is_rejected(codec: SessionCodec) -> None:
    data = raw(codec.seal(b"x"))
    assert codec.open(b64url_encode(data[:HEADER_SIZE])) is None
    assert codec.open(b64url_encode(data[: HEADER_SIZE + TAG_SIZE - 1])) is None


def test_other_format_versions_are_rejected(codec: SessionCodec) -> None:
    data = bytearray(raw(codec.seal(b"x")))
    for version in (0, 2, 255):
        data[0] = version
        assert codec.open(b64url_encode(bytes(data))) is None


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda s: s + "=", id="padding1"),
        pytest.param(lambda s: s + "==", id="padding2"),
        pytest.param(lambda s: s + " ", id="trailing-space"),
        pytest.param(lambda s: " " + s, id="leading-space"),
        pytest.param(lambda s: s[:10] + "\n" + s[10:], id="newline"),
        pytest.param(lambda s: s[:10] + "\t" + s[10:], id="tab"),
        pytest.param(lambda s: s + "!", id="junk"),
        pytest.param(lambda s: s[:10] + "." + s[10:], id="dot"),
        pytest.param(lambda s: s[:10] + "é" + s[10:], id="non-ascii"),
        pytest.param(lambda s: s[:10] + "\x00" + s[10:], id="nul"),
        pytest.param(lambda s: s + "A", id="one-extra-char"),
    ],
)
def test_non_canonical_encoding_is_rejected(codec: SessionCodec, mutate) -> None:  # type: ignore[no-untyped-def]
    sealed = codec.seal(b"payload")
    assert codec.open(sealed) is not None
    assert codec.open(mutate(sealed)) is None


def test_standard_alphabet_is_rejected(codec: SessionCodec) -> None:
    # Seal until the value contains a '-' or '_' so the standard-alphabet twin differs.
    for _ in range(1000):
        sealed = codec.seal(b"payload")
        if "-" in sealed or "_" in sealed:
            break
    standard = sealed.replace("-", "+").replace("_", "/")
    assert standard != sealed
    assert codec.open(standard) is None


def test_non_canonical_trailing_bits_are_rejected(codec: SessionCodec) -> None:
    # A length that leaves unused bits in the last character.
    plaintext = b"x"
    for size in range(1, 4):
        plaintext = b"x" * size
        sealed = codec.seal(plaintext)
        if len(sealed) % 4:
            break
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sealed[-1])
    twin = sealed[:-1] + alphabet[last | 1]
    assert twin != sealed
    assert raw(twin) == raw(sealed)  # the lenient decoder sees the same bytes
    assert codec.open(twin) is None


def test_b64url_decode_strictness() -> None:
    assert b64url_decode(b"QQ") == b"A"
    assert b64url_decode(b"QR") is None  # non-canonical trailing bits
    assert b64url_decode(b"QQ==") is None
    assert b64url_decode(b"Q") is None
    assert b64url_decode(b"+/8") is None
    assert b64url_decode(b"-_8") == b"\xfb\xff"
    assert b64url_decode(b"") == b""


def test_purpose_is_bound(ring: KeyRing) -> None:
    session = SessionCodec(ring, "session:__Host-app")
    flow = SessionCodec(ring, "flow:__Host-app_flow")
    other_app = SessionCodec(ring, "session:__Host-other")
    sealed = flow.seal(b"{}")
    assert flow.open(sealed) is not None
    assert session.open(sealed) is None
    assert other_app.open(session.seal(b"{}")) is None


def test_over_long_input_is_rejected_before_decoding(ring: KeyRing) -> None:
    codec = SessionCodec(ring, "p", max_length=100)
    assert codec.open("A" * 101) is None
    assert codec.open(b"A" * 101) is None


@pytest.mark.parametrize("junk", [None, 12, object(), ["x"]])
def test_open_never_raises_on_wrong_types(codec: SessionCodec, junk: object) -> None:
    assert codec.open(junk) is None  # type: ignore[arg-type]
