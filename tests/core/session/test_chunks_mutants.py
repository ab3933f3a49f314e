"""``read_chunks`` answers that mutation testing showed unpinned.

Each case is a raw Cookie header and the exact :class:`ChunkScan` it must give:
where a chunk value ends (the first ``;`` after it, blanks stripped one by one),
a value of exactly :data:`MAX_CHUNK_LENGTH` bytes, a value containing ``=``
(an RFC 6265 cookie-octet), a chunk 0 without the ``N~`` count, and a request
carrying more cookies under the prefix than are scanned. Whether the
single-chunk fast path or the full scan answers is not pinned, only the answer.
"""

from __future__ import annotations

import secrets

import pytest

from authplug.config import AuthplugConfig
from authplug.session import SessionManager
from authplug.session.chunks import MAX_CHUNK_LENGTH, ChunkScan, read_chunks

from .conftest import NOW, cookie_headers, make_key, make_user

NAME = b"app"


def cookie(*texts: str) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", text.encode()) for text in texts]


def clean(value: bytes, indices: tuple[int, ...] = (0,)) -> ChunkScan:
    return ChunkScan(value=value, indices=indices, malformed=False)


def malformed(indices: tuple[int, ...]) -> ChunkScan:
    return ChunkScan(value=None, indices=indices, malformed=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # the value ends at the first ";" after it, however many cookies follow
        ("app.0=1~abc; u=2; v=3", clean(b"abc")),
        ("t=1; app.0=1~abc; u=2; v=3; w=4", clean(b"abc")),
        ("app.0=1~abc;u=2;v=3", clean(b"abc")),
        # trailing blanks are stripped, however many (one, two, three)
        ("app.0=1~abc ; u=2", clean(b"abc")),
        ("app.0=1~abc\t; u=2", clean(b"abc")),
        ("app.0=1~abc  ; u=2", clean(b"abc")),
        ("app.0=1~abc \t ; u=2", clean(b"abc")),
        ("app.0=1~abc ", clean(b"abc")),
        ("app.0=1~a ; u=2; v=3", clean(b"a")),
        ("app.0=1~ ; u=2", clean(b"")),
        # the same through the full scan (another cookie under the prefix follows)
        ("app.0=1~abc ; app.x=1", clean(b"abc")),
        ("app.0=1~abc; u=2; v=3; app.x=1", clean(b"abc")),
    ],
    ids=[
        "two-after",
        "three-after",
        "no-blanks",
        "one-blank",
        "one-tab",
        "two-blanks",
        "three-blanks",
        "blank-at-end",
        "one-byte-value",
        "empty-value",
        "full-scan-blank",
        "full-scan-three-after",
    ],
)
def test_where_a_single_chunk_value_ends(header: str, expected: ChunkScan) -> None:
    assert read_chunks(cookie(header), NAME, 3) == expected


@pytest.mark.parametrize("max_chunks", [1, 2, 3, 20])
def test_one_chunk_reads_under_every_chunk_maximum(max_chunks: int) -> None:
    for header in ("app.0=1~abc", "t=1; app.0=1~abc; u=2; v=3", "app.0=1~abc ; app.x=1"):
        assert read_chunks(cookie(header), NAME, max_chunks) == clean(b"abc")


def test_a_chunk_of_exactly_the_maximum_length_is_read() -> None:
    full = "b" * MAX_CHUNK_LENGTH
    header = f"app.0=2~a; app.1={full}"
    assert read_chunks(cookie(header), NAME, 3) == clean(b"a" + full.encode(), (0, 1))
    # chunk 0 at the maximum too: its count prefix is part of its value
    first = "1~" + "c" * (MAX_CHUNK_LENGTH - 2)
    expected = clean(b"c" * (MAX_CHUNK_LENGTH - 2))
    assert read_chunks(cookie(f"app.0={first}"), NAME, 3) == expected
    assert read_chunks(cookie(f"app.0={first}; app.x=1"), NAME, 3) == expected
    # one byte more is malformed, whichever chunk carries it
    assert read_chunks(cookie(header + "b"), NAME, 3) == malformed((0, 1))
    assert read_chunks(cookie(f"app.0={first}c; app.x=1"), NAME, 3) == malformed((0,))


def test_a_value_may_contain_equals_signs() -> None:
    """``=`` is a cookie-octet (RFC 6265): the name ends at the first one."""
    assert read_chunks(cookie("app.0=2~ab; app.1==cd="), NAME, 3) == clean(b"ab=cd=", (0, 1))
    assert read_chunks(cookie("app.0=2~a=; app.1=="), NAME, 3) == clean(b"a==", (0, 1))
    assert read_chunks(cookie("app.0=1~=; app.x=1"), NAME, 3) == clean(b"=")


@pytest.mark.parametrize(
    "header",
    [
        "app.0=12",  # no "~" at all: the last byte is not a separator
        "app.0=1",
        "app.0=1a",
        "app.0=12; app.x=1",
        "app.0=2; app.1=x",
    ],
    ids=["two-digits", "one-digit", "digit-letter", "full-scan", "two-chunks"],
)
def test_chunk_zero_without_a_count_separator_is_malformed(header: str) -> None:
    expected_indices = (0, 1) if "app.1" in header else (0,)
    assert read_chunks(cookie(header), NAME, 3) == malformed(expected_indices)


def test_count_is_read_up_to_the_first_separator() -> None:
    """A ``~`` in the value after the count's own is data, not a second separator."""
    assert read_chunks(cookie("app.0=1~~ab; app.x=1"), NAME, 3) == clean(b"~ab")
    assert read_chunks(cookie("app.0=2~~; app.1=~"), NAME, 3) == clean(b"~~", (0, 1))


def test_too_many_cookies_under_the_prefix_make_the_session_malformed() -> None:
    """More than the scan reads: the chunks it did read are not trusted (and get cleared)."""
    noise = "; ".join(f"app.x{i % 10}=1" for i in range(99))  # 100 with the chunk: all read
    assert read_chunks(cookie(f"app.0=1~abc; {noise}"), NAME, 3) == clean(b"abc")
    assert read_chunks(cookie(f"app.0=1~abc; {noise}; app.y=1"), NAME, 3) == malformed((0,))
    chunks = "app.0=2~ab; app.1=cd"
    assert read_chunks(cookie(f"{chunks}; {noise}"), NAME, 3) == malformed((0, 1))
    assert read_chunks(cookie(f"{chunks}; {noise[: noise.rindex(';')]}"), NAME, 3) == clean(
        b"abcd", (0, 1)
    )


def test_manager_reads_a_session_spread_over_many_chunks() -> None:
    """Through the manager: a session of many chunks (each one full) round-trips."""
    config = AuthplugConfig(cookie_keys=[make_key()], cookie_secure=True, max_cookie_chunks=20)
    manager = SessionManager(config)
    blob = secrets.token_urlsafe(9000)
    cookies = manager.write(manager.new_session(make_user(auth_data={"t": blob}), NOW))
    assert len(cookies) >= 3
    read = manager.read(cookie_headers(cookies), NOW + 1)
    assert read.session is not None
    assert read.session.user.auth_data == {"t": blob}
    assert read.chunk_count == len(cookies)
