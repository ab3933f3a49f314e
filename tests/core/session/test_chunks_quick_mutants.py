"""The single-chunk scan's shortcut for the usual ``; name`` spelling never admits a foreign name.

``scan_cookie`` accepts the cookie without walking back over blanks when the
two bytes before its name are exactly ``"; "``. A cookie whose name only
*ends* with ours (``xapp.0``) must still be somebody else's cookie, however
the bytes around it are arranged: the shortcut looks at the two bytes right
before the name, and nowhere else.
"""

from __future__ import annotations

import pytest

from authplug.session.chunks import ChunkScan, cookie_header, read_chunks, scan_cookie

PREFIX = b"app."
ABSENT = ChunkScan(value=None, indices=(), malformed=False)


def cookie(*values: str) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", value.encode("latin-1")) for value in values]


@pytest.mark.parametrize(
    "header",
    [
        "a=1; xapp.0=1~abc",  # "; " three bytes before the name, a letter glued to it
        "; xapp.0=1~abc",  # "; " at the very start of the header
        "; x; yapp.0=1~abc",
        "a=1;  xapp.0=1~abc",
    ],
    ids=["glued-after-separator", "separator-at-start", "second-glued", "two-blanks-glued"],
)
def test_a_name_that_only_ends_with_ours_is_not_our_cookie(header: str) -> None:
    headers = cookie(header)
    assert scan_cookie(cookie_header(headers), PREFIX, 3) in (None, ABSENT)
    assert read_chunks(headers, b"app", 3) == ABSENT


@pytest.mark.parametrize(
    "header",
    ["app.0=1~abc", "a=1; app.0=1~abc", "a=1;app.0=1~abc", "a=1;  app.0=1~abc", "; app.0=1~abc"],
    ids=["alone", "usual", "no-blank", "two-blanks", "separator-at-start"],
)
def test_our_name_after_any_separator_spelling_is_read(header: str) -> None:
    expected = ChunkScan(value=b"abc", indices=(0,), malformed=False)
    assert scan_cookie(cookie_header(cookie(header)), PREFIX, 3) == expected
    assert read_chunks(cookie(header), b"app", 3) == expected
