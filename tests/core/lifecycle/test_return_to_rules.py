"""``safe_return_to``: the rules behind the payload list, each pinned on both sides (#15.5).

The backslash rule holds anywhere in the path, not only right after the
first ``/`` (browsers treat ``\\`` as ``/``, so ``/x/..\\..\\evil`` can climb
to another origin's path form), in every percent-decoded layer, and for
characters that NFKC folds into a backslash. Legitimate non-ASCII paths,
percent-encoded as browsers send them, are accepted: refusing them would
silently drop a user's deep link.
"""

from __future__ import annotations

import pytest

from authplug.return_to import safe_return_to

BACKSLASH_AFTER_THE_START = [
    "/a\\b",
    "/x/..\\..\\evil",
    "/reports\\",
    "/a/b\\c?d",
    "/a?next=\\evil",
    "/a%5Cb",
    "/a%5cb",
    "/x/..%5C..%5Cevil",
    "/a%255Cb",
    "/a%EF%BC%BCb",  # fullwidth reverse solidus, NFKC-folds to "\"
    "/x/..%EF%BC%BC..%EF%BC%BCevil",
    "/a%EF%B9%A8b",  # small reverse solidus
    "/a%25EF%25BC%25BCb",
]

FOLDING_AT_THE_START = [
    "/%EF%BC%8Fevil.example",  # fullwidth solidus right after "/"
    "/%EF%BC%BCevil.example",  # fullwidth reverse solidus right after "/"
]

LEGITIMATE = [
    "/caf%C3%A9",
    "/caf%C3%A9/men%C3%BC?q=cr%C3%A8me",
    "/%E6%97%A5%E6%9C%AC%E8%AA%9E",
    "/%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82",
    "/a%EF%BC%8Fb",  # a fullwidth solidus inside the path is only a character
    "/a%2Fb",
    "/a b",
    "/a%20b",
    "/%41",
    "/a/",
]


def _ids(values: list[str]) -> list[str]:
    """Node ids without backslashes (mutmut passes node ids back to pytest)."""
    return [v.replace("\\", "BACKSLASH") for v in values]


@pytest.mark.parametrize("value", BACKSLASH_AFTER_THE_START, ids=_ids(BACKSLASH_AFTER_THE_START))
def test_a_backslash_anywhere_is_refused(value: str) -> None:
    assert safe_return_to(value) is None


@pytest.mark.parametrize("value", FOLDING_AT_THE_START)
def test_look_alikes_right_after_the_slash_are_refused(value: str) -> None:
    assert safe_return_to(value) is None


@pytest.mark.parametrize("value", LEGITIMATE)
def test_legitimate_paths_are_kept_unchanged(value: str) -> None:
    assert safe_return_to(value) == value


def _encode(value: str, times: int) -> str:
    for _ in range(times):
        value = value.replace("%", "%25")
    return value


def test_decoding_rounds_are_bounded() -> None:
    """Two layers of encoding over a real escape are accepted; a third is refused."""
    assert safe_return_to(_encode("/caf%C3%A9", 2)) == _encode("/caf%C3%A9", 2)
    assert safe_return_to(_encode("/caf%C3%A9", 3)) is None
    assert safe_return_to(_encode("/a%2Fb", 2)) == _encode("/a%2Fb", 2)
    assert safe_return_to(_encode("/a%2Fb", 3)) is None


def test_one_character_paths() -> None:
    assert safe_return_to("/") == "/"
    assert safe_return_to("\\") is None
    assert safe_return_to("a") is None
    assert safe_return_to("%") is None
