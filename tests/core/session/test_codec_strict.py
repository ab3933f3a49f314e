"""SessionCodec: a sealed value has exactly one spelling (issue #15.4).

A lenient base64 decoder skips characters outside its alphabet and accepts
padding anywhere, so ``++++``, ``====``, ``////`` or blanks inserted into a
sealed value would decode to the same bytes and the cookie would still open:
a malleable cookie. Every insertion below is a multiple of four characters
at a four-character boundary, exactly what a lenient decoder ignores.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authplug.session import KeyRing, SessionCodec
from authplug.session.codec import b64url_decode, b64url_encode

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


# -- the decoder against the standard library's strict decoder -------------------------------

_STANDARD = bytes.maketrans(b"-_+/=", b"+/!!!")  # base64url -> standard; "+", "/", "=" refused
_CANONICAL_LAST = {2: b"AQgw", 3: b"AEIMQUYcgkosw048"}  # unused low bits zero (RFC 4648 3.5)


def _reference(text: bytes) -> bytes | None:
    """Strict unpadded base64url with the standard library only (binascii's strict mode)."""
    rest = len(text) % 4
    if rest == 1 or (rest and text[-1] not in _CANONICAL_LAST[rest]):
        return None
    try:
        return binascii.a2b_base64(text.translate(_STANDARD) + b"=" * (-rest % 4), strict_mode=True)
    except binascii.Error:
        return None


_SHORT_ALPHABET = b"AQBgw-_+/= \n!\x80\x00"


def test_the_decoder_agrees_with_the_stdlib_on_every_input_of_up_to_four_characters() -> None:
    """Exhaustive over characters chosen at every edge: both decode alike, or both refuse."""
    checked = 0
    for length in range(5):
        for chars in itertools.product(_SHORT_ALPHABET, repeat=length):
            text = bytes(chars)
            assert b64url_decode(text) == _reference(text), text
            checked += 1
    assert checked > 50_000


def test_padding_inside_longer_data_is_refused_wherever_it_stands() -> None:
    """``=`` or ``==`` at every offset of 8- to 14-character texts (beyond the exhaustive
    range): refused, as the reference refuses it; a ``=`` inside the data is left to
    pybase64, the one at the end to the checks before it."""
    reached_pybase64 = 0
    for length in range(8, 15):
        # "A" is a canonical last character at every length, so with it the
        # checks before pybase64 pass and pybase64 itself must refuse the "="
        for base in ((b"QUJDREVGR0hJSktM" * 2)[:length], b"A" * length):
            for pad in (b"=", b"=="):
                for at in range(length - len(pad) + 1):
                    text = base[:at] + pad + base[at + len(pad) :]
                    assert b64url_decode(text) is None, text
                    assert _reference(text) is None, text
                    reached_pybase64 += text[-1] != ord("=") and base[0] == ord("A")
    assert reached_pybase64 > 100


_NEAR_BASE64 = st.text(alphabet=_SHORT_ALPHABET.decode("latin-1") + "ABCxyz0189", max_size=80)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=80), _NEAR_BASE64.map(lambda s: s.encode("latin-1"))))
def test_the_decoder_agrees_with_the_stdlib_on_any_input(text: bytes) -> None:
    assert b64url_decode(text) == _reference(text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_the_encoder_writes_the_stdlib_spelling_and_decodes_back(raw: bytes) -> None:
    encoded = b64url_encode(raw)
    assert encoded == base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
    assert b64url_decode(encoded.encode("ascii")) == raw
