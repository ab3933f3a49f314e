"""Chunk splitting and reassembly, and the raw Cookie header scan."""

from __future__ import annotations

import pytest

from authplug.errors import SessionTooLargeError
from authplug.session.chunks import ChunkScan, read_chunks, split_value
from authplug.session.cookie_header import find_cookies

NAME = b"app"


def cookie(text: str) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", text.encode())]


def test_split_and_reassemble() -> None:
    sealed = "".join(chr(ord("a") + i % 26) for i in range(250))
    values = split_value(sealed, [100, 100, 100])
    assert values[0].startswith("3~")
    assert [len(v) for v in values] == [99, 100, 53]
    header = "; ".join(f"app.{i}={v}" for i, v in enumerate(values))
    scan = read_chunks(cookie(header), NAME, 3)
    assert scan == ChunkScan(value=sealed.encode(), indices=(0, 1, 2), malformed=False)
    assert scan.chunk_count == 3


def test_split_empty_and_exact_fit() -> None:
    assert split_value("", [10]) == ["1~"]
    assert split_value("x" * 7, [10]) == ["1~xxxxxxx"]
    assert split_value("x" * 8, [10, 10]) == ["2~xxxxxxx", "x"]


def test_split_over_the_maximum() -> None:
    with pytest.raises(SessionTooLargeError):
        split_value("x" * 200, [100])


@pytest.mark.parametrize(
    ("header", "indices"),
    [
        ("app.0=2~ab", (0,)),  # missing chunk 1
        ("app.1=ab", (1,)),  # no chunk 0
        ("app.0=2~ab; app.2=cd", (0, 2)),  # right number of chunks, wrong names
        ("app.0=1~ab; app.0=1~ab", (0,)),  # duplicated
        ("app.0=1~ab; app.1=cd", (0, 1)),  # extra chunk beyond the count
        ("app.0=999~ab", (0,)),  # count far above the maximum
        ("app.0=4~ab; app.1=a; app.2=b; app.3=c", (0, 1, 2, 3)),  # count above max (3)
        ("app.0=0~ab", (0,)),
        ("app.0=01~ab", (0,)),
        ("app.0=ab", (0,)),  # no count
        ("app.0=~ab", (0,)),
        ("app.5=x", (5,)),  # index above the maximum
        ("app.0=1~" + "a" * 4097, (0,)),  # oversized chunk
    ],
)
def test_malformed(header: str, indices: tuple[int, ...]) -> None:
    scan = read_chunks(cookie(header), NAME, 3)
    assert scan.value is None
    assert scan.malformed
    assert scan.indices == indices


def test_many_hits_stop_early() -> None:
    header = "; ".join("app.0=1~a" for _ in range(10_000))
    scan = read_chunks(cookie(header), NAME, 3)
    assert scan.malformed
    assert scan.indices == (0,)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "other=1",
        "xapp.0=1~ab",
        "app.x=1",
        "app.00=1~ab",
        "app=1~ab",
        "a=app.0=1~ab",
        "app.123=x",
    ],
)
def test_not_ours(header: str) -> None:
    assert read_chunks(cookie(header), NAME, 3) == ChunkScan(
        value=None, indices=(), malformed=False
    )


def test_find_cookies_boundaries_and_blanks() -> None:
    headers = [
        (b"cookie", b"a=1;app=x ;  app=y"),
        (b"other", b"app=z"),
        (b"cookie", b"\tapp=w;app"),
    ]
    assert find_cookies(headers, b"app", max_suffix=0, limit=10) == (
        [(b"", b"x"), (b"", b"y"), (b"", b"w")],
        False,
    )
    found, overflow = find_cookies(headers, b"app", max_suffix=0, limit=1)
    assert overflow
    assert len(found) == 2
