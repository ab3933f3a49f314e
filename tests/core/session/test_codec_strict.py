"""SessionCodec: a sealed value has exactly one spelling (issue #15.4).

A lenient base64 decoder skips characters outside its alphabet and accepts
padding anywhere, so ``++++``, ``====``, ``////`` or blanks inserted into a
sealed value would decode to the same bytes and the cookie would still open:
a malleable cookie. Every insertion below is a multiple of four characters
at a four-character boundary, exactly what a lenient decoder ignores.
"""

from __future__ import annotations

import secrets

import pytest

from authplug.session import KeyRing, SessionCodec
from authplug.session.codec import b64url_decode

INSERTS = {
    "plus": "++++",
    "equals": "====",
    "slash": "////",
    "space": "    ",
    "tab": "\t\t\t\t",
    "newline": "\n\n\n\n",
    "crlf": "\r\n\r\n",
    "plus-slash": "+/+/",
    "inner-padding": "AA==",
}


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.from_keys([secrets.token_bytes(32)])


@pytest.fixture
def codec(ring: KeyRing) -> SessionCodec:
    return SessionCodec(ring, "session:test")


@pytest.mark.parametrize("insert", INSERTS.values(), ids=INSERTS.keys())
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_inserted_characters_make_the_value_unopenable(
    codec: SessionCodec, insert: str, where: str
) -> None:
    sealed = codec.seal(b"payload")
    assert codec.open(sealed) is not None
    cut = {"start": 0, "middle": 4 * (len(sealed) // 8), "end": 4 * (len(sealed) // 4)}[where]
    altered = sealed[:cut] + insert + sealed[cut:]
    assert codec.open(altered) is None
    assert codec.open(altered.encode("ascii")) is None
    assert b64url_decode(altered.encode("ascii")) is None


@pytest.mark.parametrize("insert", INSERTS.values(), ids=INSERTS.keys())
def test_the_decoder_alone_refuses_inserted_characters(insert: str) -> None:
    assert b64url_decode(b"QUJD") == b"ABC"
    assert b64url_decode(b"QUJD" + insert.encode("ascii") + b"QUJD") is None
    assert b64url_decode(insert.encode("ascii") + b"QUJD") is None


def test_max_length_is_inclusive_for_text_and_bytes(codec: SessionCodec, ring: KeyRing) -> None:
    sealed = codec.seal(b"payload")
    exact = SessionCodec(ring, codec.purpose, max_length=len(sealed))
    assert exact.open(sealed) == (b"payload", False)
    assert exact.open(sealed.encode("ascii")) == (b"payload", False)
    short = SessionCodec(ring, codec.purpose, max_length=len(sealed) - 1)
    assert short.open(sealed) is None
    assert short.open(sealed.encode("ascii")) is None


def test_default_max_length_is_96_kib(codec: SessionCodec) -> None:
    """The default bound is 96 KiB of encoded text: exactly that opens, 2 characters more do not."""
    fits = codec.seal(b"x" * 73_695)  # 17 + 73_695 + 16 = 73_728 bytes -> 98_304 characters
    assert len(fits) == 96 * 1024
    assert codec.open(fits) is not None
    assert codec.open(fits.encode("ascii")) is not None
    over = codec.seal(b"x" * 73_696)
    assert len(over) == 96 * 1024 + 2
    assert codec.open(over) is None
    assert codec.open(over.encode("ascii")) is None
