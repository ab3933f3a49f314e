"""``safe_return_to``: every open-redirect payload of SECURITY.md A.23 is refused."""

from __future__ import annotations

import pytest

from authplug.return_to import MAX_RETURN_TO_LENGTH, safe_return_to

EVIL = [
    # absolute and scheme-relative
    "https://evil.example",
    "http://evil.example/path",
    "HTTPS://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    # percent-encoded variants
    "%2F%2Fevil.example",
    "/%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "/%2f%2fevil.example",
    "https%3A%2F%2Fevil.example",
    # whitespace-prefixed and control characters
    " /evil",
    " //evil.example",
    "\t//evil.example",
    "\n/evil",
    "/\t/evil.example",
    "/\r\nLocation: https://evil.example",
    "/%0D%0ALocation:%20https://evil.example",
    "/%09/evil.example",
    "/foo\x00bar",
    "/%00",
    # schemes
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox",
    # userinfo trick
    "https://app.example@evil.example",
    "//app.example@evil.example",
    # unicode look-alikes and non-ASCII
    "/\uff0fevil.example",
    "\uff0f\uff0fevil.example",
    "/\u2215evil.example",
    "/\u3000/evil",
    "/%E3%80%80/evil",
    "/%EF%BC%8Fevil.example",
    "/%ff",
    # empty and oversized
    "",
    "/" + "a" * MAX_RETURN_TO_LENGTH,
    "relative/path",
    "?next=/x",
    "#frag",
]

SAFE = [
    "/",
    "/reports",
    "/reports?id=7&sort=desc",
    "/a/b/c#section",
    "/search?q=hello%20world",
    "/path%2Fwith%2Fslash",
    "/next?url=https://example.org",
    "/" + "a" * (MAX_RETURN_TO_LENGTH - 1),
]


@pytest.mark.parametrize("value", EVIL)
def test_evil_values_are_refused(value: str) -> None:
    assert safe_return_to(value) is None


@pytest.mark.parametrize("value", SAFE)
def test_same_origin_paths_are_kept_unchanged(value: str) -> None:
    assert safe_return_to(value) == value


def test_none_is_none() -> None:
    assert safe_return_to(None) is None


def test_deeply_nested_encoding_is_refused() -> None:
    value = "/x"
    for _ in range(6):
        value = value.replace("%", "%25") + "%2541"
    assert safe_return_to(value) is None
