"""``Validity.holds_at`` agrees with a fresh ``check_claims`` at both ends of the window.

Mutation testing showed no test pinned the window's bounds: it is closed at
``not_before`` (the first accepted instant) and open at ``not_after`` (the
first rejected one), exactly as ``check_claims`` decides.
"""

from __future__ import annotations

import math

import pytest

from authplug.jose.claims import ClaimRules, Validity, check_claims
from authplug.jose.errors import TokenRejectedError

RULES = ClaimRules.build(
    issuers=["https://issuer.example"],
    audiences=["api"],
    additional_audiences=[],
    leeway=30,
    max_age=None,
    required=[],
)
CLAIMS = {"iss": "https://issuer.example", "aud": "api", "nbf": 1000, "iat": 990, "exp": 2000}


def _accepted(now: float) -> bool:
    try:
        check_claims(CLAIMS, RULES, now)
    except TokenRejectedError:
        return False
    return True


def test_the_window_is_closed_at_its_start_and_open_at_its_end() -> None:
    validity = check_claims(CLAIMS, RULES, 1500.0)
    assert validity == Validity(exp=2000.0, not_before=970.0, not_after=2030.0)
    for now in (970.0, 1500.0, math.nextafter(2030.0, 0)):
        assert validity.holds_at(now)
        assert _accepted(now)
    for now in (math.nextafter(970.0, 0), 2030.0, 2031.0):
        assert not validity.holds_at(now)
        assert not _accepted(now)


@pytest.mark.parametrize("now", [-1.0, 0.0, 5.0, 10.0])
def test_holds_at_on_a_plain_window(now: float) -> None:
    assert Validity(exp=10.0, not_before=0.0, not_after=10.0).holds_at(now) is (0.0 <= now < 10.0)


@pytest.mark.parametrize(
    "aud", [{"api": True}, 7, True, "", []], ids=["object", "number", "bool", "empty", "empty-list"]
)
def test_an_audience_that_is_not_a_string_or_a_list_of_them_is_refused(aud: object) -> None:
    with pytest.raises(TokenRejectedError) as caught:
        check_claims({**CLAIMS, "aud": aud}, RULES, 1500.0)
    assert caught.value.code == "invalid_audience"
