"""``find_cookies``: a cookie's name ends at its first ``=`` (mutation testing found it unpinned).

``=`` is a cookie-octet (RFC 6265), so a value may contain it, even right at
its start; the name part after the prefix is what comes before the first
``=``, never a longer stretch ending at a later one.
"""

from __future__ import annotations

import pytest

from authplug.session.cookie_header import find_cookies


def cookie(text: str) -> list[tuple[bytes, bytes]]:
    return [(b"cookie", text.encode())]


@pytest.mark.parametrize(
    ("header", "max_suffix", "found"),
    [
        ("app.1==x", 2, [(b"1", b"=x")]),
        ("app.1===", 2, [(b"1", b"==")]),
        ("app.12==; t=1", 2, [(b"12", b"=")]),
        ("app.1=a=b; app.2=c==d", 2, [(b"1", b"a=b"), (b"2", b"c==d")]),
        ("app.=x=y", 0, [(b"", b"x=y")]),
        ("app.ab=c=d=e", 8, [(b"ab", b"c=d=e")]),
        ("app.a==b=c", 8, [(b"a", b"=b=c")]),
    ],
    ids=[
        "value-starts-with-equals",
        "only-equals",
        "two-digit",
        "two-cookies",
        "exact",
        "long",
        "late",
    ],
)
def test_the_name_ends_at_the_first_equals_sign(
    header: str, max_suffix: int, found: list[tuple[bytes, bytes]]
) -> None:
    assert find_cookies(cookie(header), b"app.", max_suffix=max_suffix, limit=10) == (found, False)
