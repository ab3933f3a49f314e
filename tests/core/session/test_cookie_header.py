"""``find_cookies``: the raw Cookie header reader, its matches and its bounded work (issue #15.8).

The work bound is proven by counting the ``find`` calls the reader makes on
the header (a ``bytes`` subclass that counts, and stops the test instead of
spinning if the reader ever stops advancing): one search per occurrence of
the prefix plus the final miss, whatever the header holds.
"""

from __future__ import annotations

from typing import SupportsIndex

import pytest

from authplug.session.cookie_header import find_cookies

PREFIX = b"app."


class CountingHeader(bytes):
    """Header bytes that count ``find`` calls per needle and fail past a budget."""

    budget = 10_000

    def __init__(self, _value: bytes) -> None:
        self.calls: dict[bytes, int] = {}

    def find(  # type: ignore[override]
        self,
        sub: bytes,
        start: SupportsIndex | None = None,
        end: SupportsIndex | None = None,
    ) -> int:
        self.calls[sub] = self.calls.get(sub, 0) + 1
        if sum(self.calls.values()) > self.budget:
            raise AssertionError("the reader does not advance through the header")
        return bytes.find(self, sub, start, end)


def read(
    header: bytes, *, max_suffix: int = 2, limit: int = 10
) -> tuple[list[tuple[bytes, bytes]], bool]:
    return find_cookies([(b"cookie", header)], PREFIX, max_suffix=max_suffix, limit=limit)


def counted(header: bytes, **kwargs: int) -> tuple[list[tuple[bytes, bytes]], bool, int]:
    counting = CountingHeader(header)
    found, overflow = find_cookies(
        [(b"cookie", counting)],
        PREFIX,
        max_suffix=kwargs.get("max_suffix", 2),
        limit=kwargs.get("limit", 10),
    )
    return found, overflow, counting.calls.get(PREFIX, 0)


def test_matches_in_header_order_with_values_stripped() -> None:
    found, overflow = read(b"app.0=a; other=x;  app.1= b ;\tapp.2=c")
    assert found == [(b"0", b"a"), (b"1", b"b"), (b"2", b"c")]
    assert overflow is False


def test_a_cookie_at_the_very_start_and_at_the_very_end() -> None:
    assert read(b"app.0=first") == ([(b"0", b"first")], False)
    assert read(b"x=1;app.9=") == ([(b"9", b"")], False)


def test_an_empty_value_ends_at_its_semicolon() -> None:
    assert read(b"app.0=; app.1=b") == ([(b"0", b""), (b"1", b"b")], False)
    assert read(b"app.0=;app.1=") == ([(b"0", b""), (b"1", b"")], False)


def test_only_spaces_and_tabs_around_a_value_are_stripped() -> None:
    """RFC 6265 optional white space is SP/HTAB; other control bytes stay (and fail later)."""
    found, _ = read(b"app.0= \t\x0bvalue\r\x0c\t ; app.1=\nx\n")
    assert found == [(b"0", b"\x0bvalue\r\x0c"), (b"1", b"\nx\n")]


def test_names_that_merely_contain_the_prefix_are_not_cookies() -> None:
    found, _ = read(b"xapp.0=decoy; a=app.1=inside-a-value; app.2=real")
    assert found == [(b"2", b"real")]


def test_suffix_longer_than_allowed_is_ignored() -> None:
    assert read(b"app.123=x; app.12=y") == ([(b"12", b"y")], False)
    assert read(b"app.123=x", max_suffix=3) == ([(b"123", b"x")], False)


def test_only_cookie_headers_are_read() -> None:
    headers = [(b"x-cookie", b"app.0=no"), (b"cookie", b"app.0=yes"), (b"cookie", b"app.1=two")]
    found, _ = find_cookies(headers, PREFIX, max_suffix=2, limit=10)
    assert found == [(b"0", b"yes"), (b"1", b"two")]


def test_limit_then_overflow() -> None:
    header = b"; ".join(b"app.%d=v%d" % (i, i) for i in range(5))
    found, overflow = read(header, limit=3)
    assert overflow is True
    assert [suffix for suffix, _ in found] == [b"0", b"1", b"2", b"3"]
    assert read(header, limit=5) == ([(b"%d" % i, b"v%d" % i) for i in range(5)], False)


@pytest.mark.parametrize(
    ("header", "occurrences"),
    [
        (b"", 0),
        (b"other=1", 0),
        (b"app.0=a", 1),
        (b"xapp.0=a; app.1=b", 2),
        (b"xapp.0=a; yapp.1=b; zapp.2=c; app.3=d", 4),
        (b"app.0=app.1app.2; app.3=d", 2),  # occurrences inside a matched value are skipped
        (b"xapp.xapp.xapp.xapp.", 4),  # no "=" after any of them
    ],
)
def test_one_search_per_occurrence_plus_the_final_miss(header: bytes, occurrences: int) -> None:
    found, _, prefix_searches = counted(header)
    assert prefix_searches == occurrences + 1
    assert found == read(header)[0]


def test_a_hostile_header_costs_one_search_per_occurrence() -> None:
    """64 KiB of decoys: the searches grow with the decoys, never with a stuck position."""
    decoys = b"".join(b"x%d=app.0app.1app.2; " % i for i in range(2000))
    header = decoys + b"app.0=real"
    found, overflow, prefix_searches = counted(header)
    assert found == [(b"0", b"real")]
    assert overflow is False
    assert prefix_searches == header.count(PREFIX) + 1


def test_searching_stops_at_the_limit() -> None:
    header = b"; ".join(b"app.%d=v" % (i % 100) for i in range(1000))
    found, overflow, prefix_searches = counted(header, limit=3)
    assert overflow is True
    assert len(found) == 4
    assert prefix_searches == 4
