"""The single-chunk fast path of ``read_chunks`` answers exactly as the full scan does.

``scan_cookie`` only answers when the result is certain and otherwise hands
over (``None``) to the full scan; these cases pin both halves of that rule.
"""

from __future__ import annotations

import pytest

from authplug.session.chunks import ChunkScan, cookie_header, read_chunks, scan_cookie

PREFIX = b"app."


def cookie(*texts: str) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", text.encode()) for text in texts]


@pytest.mark.parametrize(
    ("headers", "value"),
    [
        (cookie("app.0=1~abc"), b"abc"),
        (cookie("t=1; app.0=1~abc; u=2"), b"abc"),
        (cookie("t=1;app.0=1~abc;u=2"), b"abc"),
        (cookie("t=1;\tapp.0=1~abc \t; u=2"), b"abc"),
        (cookie("t=1", "app.0=1~abc"), b"abc"),
        (cookie("app.0=1~"), b""),
        (cookie("app.0=1~" + "a" * 4094), b"a" * 4094),
    ],
)
def test_clean_single_chunk_is_answered(headers: list[tuple[bytes, bytes]], value: bytes) -> None:
    expected = ChunkScan(value=value, indices=(0,), malformed=False)
    assert scan_cookie(cookie_header(headers), PREFIX, 3) == expected
    assert read_chunks(headers, b"app", 3) == expected


@pytest.mark.parametrize(
    "headers",
    [cookie(), cookie(""), cookie("other=1"), [(b"x-app", b"app.0=1~abc")], cookie("ap.0=1")],
)
def test_no_chunk_anywhere_is_absent(headers: list[tuple[bytes, bytes]]) -> None:
    absent = ChunkScan(value=None, indices=(), malformed=False)
    assert scan_cookie(cookie_header(headers), PREFIX, 3) == absent
    assert read_chunks(headers, b"app", 3) == absent


@pytest.mark.parametrize(
    ("headers", "max_chunks"),
    [
        (cookie("app.0=1~a; app.0=1~a"), 3),  # duplicate: malformed, for the full scan
        (cookie("app.0=1~a", "app.0=1~a"), 3),  # same, across two headers
        (cookie("app.0=1~a; app.1=b"), 3),  # an extra chunk
        (cookie("app.0=2~a"), 3),  # another count
        (cookie("app.0 =1~a"), 3),  # blank before "="
        (cookie("app.0= 1~a"), 3),  # blank after "="
        (cookie("xapp.0=1~a"), 3),  # not at a cookie start
        (cookie("o=app.0=1~a"), 3),  # inside another cookie's value
        (cookie("app.00=1~a"), 3),
        (cookie("app.0=1~" + "a" * 4095), 3),  # oversized
        (cookie("app.0=1~a"), 0),  # no chunk allowed at all
    ],
)
def test_anything_else_goes_to_the_full_scan(
    headers: list[tuple[bytes, bytes]], max_chunks: int
) -> None:
    assert scan_cookie(cookie_header(headers), PREFIX, max_chunks) is None


def test_an_oversized_single_chunk_is_still_malformed() -> None:
    scan = read_chunks(cookie("app.0=1~" + "a" * 4095), b"app", 3)
    assert scan == ChunkScan(value=None, indices=(0,), malformed=True)


def test_a_later_non_chunk_cookie_with_the_prefix_still_reads_the_session() -> None:
    headers = cookie("app.0=1~abc; app.x=1")
    # not certain: the full scan decides
    assert scan_cookie(cookie_header(headers), PREFIX, 3) is None
    assert read_chunks(headers, b"app", 3) == ChunkScan(value=b"abc", indices=(0,), malformed=False)
