"""Checks of the registered claims (RFC 7519 §4.1) that python-jose skips or gets wrong.

python-jose accepts a missing ``aud``, an extra audience, a future ``iat``,
``exp`` as a string, and crashes on ``null``/``Infinity``. Here every time
claim must be a finite JSON number (never a bool or a string), ``iss`` and
``sub`` strings, ``aud`` a string or a non-empty list of strings; issuer and
audience comparisons are exact string equality. (The mapping of claims to a
user is :mod:`authplug.claims`, shared with the OAuth provider.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from authplug.jose.errors import reject

__all__ = ["ClaimRules", "Validity", "check_claims"]

_MAX_NUMERIC_DATE: Final = 2**53
"""Largest accepted NumericDate (JSON's exact-integer range; year 285 million)."""
_ALWAYS_REQUIRED: Final = ("exp", "iss", "aud")


@dataclass(frozen=True, slots=True)
class ClaimRules:
    """What a token's registered claims must satisfy.

    Attributes:
        issuers: Trusted ``iss`` values (exact match).
        audiences: ``aud`` must contain at least one of these.
        accepted_audiences: Every ``aud`` value must be one of these
            (``audiences`` plus the configured additional audiences).
        leeway: Seconds of clock skew allowed.
        max_age: Oldest acceptable ``iat``, in seconds, or ``None``.
        required: Claims that must be present besides ``exp``, ``iss``, ``aud``.
    """

    issuers: frozenset[str]
    audiences: frozenset[str]
    accepted_audiences: frozenset[str]
    leeway: int
    max_age: int | None
    required: tuple[str, ...]

    @classmethod
    def build(
        cls,
        *,
        issuers: Iterable[str],
        audiences: Iterable[str],
        additional_audiences: Iterable[str],
        leeway: int,
        max_age: int | None,
        required: Iterable[str],
    ) -> ClaimRules:
        """Build the rules from settings values."""
        aud = frozenset(audiences)
        return cls(
            issuers=frozenset(issuers),
            audiences=aud,
            accepted_audiences=aud | frozenset(additional_audiences),
            leeway=leeway,
            max_age=max_age,
            required=tuple(dict.fromkeys(r for r in required if r not in _ALWAYS_REQUIRED)),
        )


@dataclass(frozen=True, slots=True)
class Validity:
    """When a fresh check of the same claims accepts them (for caches of verified tokens).

    Attributes:
        exp: The token's ``exp``.
        not_before: Earliest instant a fresh check accepts the token
            (``nbf`` and ``iat`` less the leeway).
        not_after: First instant a fresh check rejects it: the earliest of
            ``exp`` plus leeway and, with ``max_age``, ``iat + max_age`` plus leeway.
    """

    exp: float
    not_before: float
    not_after: float

    def holds_at(self, now: float) -> bool:
        """Whether every time bound still holds at ``now``."""
        return self.not_before <= now < self.not_after


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        if name in claims:
            raise reject("invalid_claims")
        return None
    if type(value) is not int and type(value) is not float:
        raise reject("invalid_claims")
    if not math.isfinite(value) or not 0 <= value <= _MAX_NUMERIC_DATE:
        raise reject("invalid_claims")
    return float(value)


def _check_audience(value: Any, rules: ClaimRules) -> None:
    if isinstance(value, str):
        values: list[Any] = [value]
    elif isinstance(value, list) and value:
        values = value
    else:
        raise reject("invalid_audience")
    for item in values:
        if not isinstance(item, str) or item not in rules.accepted_audiences:
            raise reject("invalid_audience")
    if rules.audiences.isdisjoint(values):
        raise reject("invalid_audience")


def check_claims(claims: Mapping[str, Any], rules: ClaimRules, now: float) -> Validity:
    """Check ``claims`` against ``rules`` at time ``now`` (seconds since the epoch).

    :returns: The window in which the same check keeps accepting the claims
        (every time bound: ``exp``, ``nbf``, ``iat``, ``max_age``, leeway).
    :raises TokenRejectedError: with the reason code of the first failed check.
    """
    iss = claims.get("iss")
    if iss is None:
        raise reject("missing_claim")
    if not isinstance(iss, str) or iss not in rules.issuers:
        raise reject("invalid_issuer")
    if "aud" not in claims:
        raise reject("missing_claim")
    _check_audience(claims["aud"], rules)
    exp = _numeric_date(claims, "exp")
    nbf = _numeric_date(claims, "nbf")
    iat = _numeric_date(claims, "iat")
    if exp is None:
        raise reject("missing_claim")
    if now >= exp + rules.leeway:
        raise reject("token_expired")
    if nbf is not None and nbf > now + rules.leeway:
        raise reject("token_not_yet_valid")
    if iat is not None:
        if iat > now + rules.leeway:
            raise reject("token_issued_in_future")
        if rules.max_age is not None and iat + rules.max_age + rules.leeway < now:
            raise reject("token_too_old")
    elif rules.max_age is not None:
        raise reject("missing_claim")
    sub = claims.get("sub")
    if sub is not None and not isinstance(sub, str):
        raise reject("invalid_claims")
    for name in rules.required:
        if claims.get(name) is None:
            raise reject("missing_claim")
    leeway = rules.leeway
    not_after = exp + leeway
    if iat is not None and rules.max_age is not None:
        # accepted while iat + max_age + leeway >= now: the first rejected instant is just after
        not_after = min(not_after, math.nextafter(iat + rules.max_age + leeway, math.inf))
    lower = [bound - leeway for bound in (nbf, iat) if bound is not None]
    return Validity(exp, max(lower, default=-math.inf), not_after)
