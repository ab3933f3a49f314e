"""``parse_instant``: SAML's ``xs:dateTime`` read strictly, as epoch seconds.

Mutation testing showed these unpinned: a naive time is UTC whatever the
process's local zone, only an upper-case ``Z`` means UTC, the 64-character
cap is inclusive, and a value that is not text is refused with the typed
error (never a ``TypeError``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from authplug_saml.assertion_checks import parse_instant
from authplug_saml.errors import SamlRejectedError

EPOCH = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is New York (so a naive time read as local would be off)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00",
        "2026-01-01T01:00:00+01:00",
        " 2026-01-01T00:00:00Z ",
    ],
    ids=["z", "naive", "offset", "blanks"],
)
def test_every_form_is_the_same_instant(value: str) -> None:
    assert parse_instant(value, "NotOnOrAfter") == EPOCH


def test_the_length_cap_is_64_characters() -> None:
    padded = "2026-01-01T00:00:00Z".rjust(64)
    assert parse_instant(padded, "NotOnOrAfter") == EPOCH
    with pytest.raises(SamlRejectedError) as caught:
        parse_instant(" " + padded, "NotOnOrAfter")
    assert caught.value.code == "bad_time"


@pytest.mark.parametrize(
    "value",
    ["", "2026-01-01T00:00:00z", "2026-01-01T00:00:00XXZXX", "yesterday", 12345, None, b"2026"],
    ids=["empty", "lower-z", "letters-around-z", "words", "number", "none", "bytes"],
)
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(SamlRejectedError) as caught:
        parse_instant(value, "NotOnOrAfter")
    assert caught.value.code == "bad_time"
