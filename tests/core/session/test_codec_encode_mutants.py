"""``b64url_encode`` strips only the padding: a value whose last character is an
``X`` (or any other letter) keeps it."""

from __future__ import annotations

import pytest

from authplug.session.codec import b64url_decode, b64url_encode


@pytest.mark.parametrize(
    ("raw", "text"),
    [(b"\x00\x00\x17", "AAAX"), (b"\x00\x00\x3d", "AAA9"), (b"\xff", "_w"), (b"\xff\xff", "__8")],
    ids=["ends-in-X", "ends-in-9", "one-byte", "two-bytes"],
)
def test_only_padding_is_stripped(raw: bytes, text: str) -> None:
    assert b64url_encode(raw) == text
    assert b64url_decode(text.encode("ascii")) == raw
