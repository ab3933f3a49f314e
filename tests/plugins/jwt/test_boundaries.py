"""Every boundary of the JWT checks, pinned on both sides (issue #15 items 1-2).

These tests speak only to the provider's public surface (``JwtProvider`` built
from settings, its ``verify``/``authenticate``, the error's ``code``), never
to the modules that implement the checks, so they hold wherever that
machinery lives. Each limit is exercised at exactly the limit (accepted) and
one past it (refused), so moving a ``>``/``>=`` or a constant by one fails a
test. The clock is frozen with time-machine (no timing assertion anywhere).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from authplug.errors import ConfigError, NotAuthenticatedError
from authplug_jwt import JwtProvider

from .conftest import request_with

T0 = 1_800_000_000
"""A fixed "now" (epoch seconds) for every time boundary."""

MAX_NUMERIC_DATE = 2**53
"""Largest NumericDate the provider accepts (JSON's exact-integer range, documented)."""

MAX_KID_LENGTH = 1024
"""Longest ``kid`` header the provider reads (documented in the JWT provider's docs)."""

MAX_KEYS_TRIED = 8
"""Most keys the provider tries for a token without a ``kid``."""


def code_of(provider: JwtProvider, token: str) -> str | None:
    """The rejection code of ``token`` at the frozen time, or ``None`` when accepted.

    ``verify`` and ``authenticate`` must agree (they share the checks).
    """
    try:
        provider.verify(token)
    except NotAuthenticatedError as exc:
        verify_code: str | None = exc.code
    else:
        verify_code = None
    try:
        provider.authenticate(request_with(token))
    except NotAuthenticatedError as exc:
        auth_code: str | None = exc.code
    else:
        auth_code = None
    assert verify_code == auth_code
    return verify_code


def at(moment: float, provider_factory: Any, token: str) -> str | None:
    """``code_of`` with the clock at ``moment`` and a fresh provider (no cache carry-over)."""
    with time_machine.travel(moment, tick=False):
        return code_of(provider_factory(), token)


def fixed_claims(kit: Any, **overrides: Any) -> dict[str, Any]:
    """Valid claims issued at ``T0`` (``iat`` = ``T0``, ``exp`` = ``T0 + 300``)."""
    return kit.claims(iat=T0, exp=T0 + 300, **overrides)


# -- item 1: max_age without iat ----------------------------------------------------------


def test_max_age_refuses_a_token_without_iat_even_when_iat_is_not_required(kit: Any) -> None:
    """``required_claims = ["sub"]`` must not let ``max_age`` accept a token of unknown age."""
    token = kit.rs256(iat=kit.DROP, exp=T0 + 300)
    with time_machine.travel(T0, tick=False):
        strict = kit.rsa_provider(required_claims=["sub"], max_age=600)
        assert code_of(strict, token) == "missing_claim"
        # The same token without max_age is fine: the refusal is max_age's doing.
        lenient = kit.rsa_provider(required_claims=["sub"])
        assert code_of(lenient, token) is None


def test_max_age_with_iat_when_iat_is_not_required(kit: Any) -> None:
    """With iat present, max_age measures its age (both sides of the limit)."""

    def factory() -> JwtProvider:
        return kit.rsa_provider(required_claims=["sub"], max_age=600, leeway=0)

    young = kit.rs256(iat=T0 - 600, exp=T0 + 300)
    assert at(T0, factory, young) is None
    old = kit.rs256(iat=T0 - 601, exp=T0 + 300)
    assert at(T0, factory, old) == "token_too_old"


# -- item 2: time boundaries -----------------------------------------------------------------


@pytest.mark.parametrize("leeway", [0, 30])
def test_exp_boundary(kit: Any, leeway: int) -> None:
    """RFC 7519 §4.1.4: refused on or after ``exp`` (plus leeway); accepted one second before."""

    def factory() -> JwtProvider:
        return kit.rsa_provider(leeway=leeway)

    token = kit.rs256(iat=T0 - 100, exp=T0)
    assert at(T0 + leeway - 1, factory, token) is None
    assert at(T0 + leeway, factory, token) == "token_expired"
    assert at(T0 + leeway + 1, factory, token) == "token_expired"


@pytest.mark.parametrize("leeway", [0, 30])
def test_nbf_boundary(kit: Any, leeway: int) -> None:
    """Accepted from ``nbf - leeway`` on; refused one second earlier."""

    def factory() -> JwtProvider:
        return kit.rsa_provider(leeway=leeway)

    token = kit.rs256(iat=T0 - 100, nbf=T0 + 100, exp=T0 + 1000)
    assert at(T0 + 100 - leeway, factory, token) is None
    assert at(T0 + 99 - leeway, factory, token) == "token_not_yet_valid"


@pytest.mark.parametrize("leeway", [0, 30])
def test_iat_future_boundary(kit: Any, leeway: int) -> None:
    """``iat`` up to ``now + leeway`` is accepted, one second later is refused."""

    def factory() -> JwtProvider:
        return kit.rsa_provider(leeway=leeway)

    assert at(T0, factory, kit.rs256(iat=T0 + leeway, exp=T0 + 1000)) is None
    refused = at(T0, factory, kit.rs256(iat=T0 + leeway + 1, exp=T0 + 1000))
    assert refused == "token_issued_in_future"


@pytest.mark.parametrize("leeway", [0, 30])
def test_max_age_boundary(kit: Any, leeway: int) -> None:
    """``iat + max_age + leeway`` is the last accepted second."""

    def factory() -> JwtProvider:
        return kit.rsa_provider(max_age=600, leeway=leeway)

    assert at(T0 + 600 + leeway, factory, kit.rs256(iat=T0, exp=T0 + 10_000)) is None
    old = at(T0 + 601 + leeway, factory, kit.rs256(iat=T0, exp=T0 + 10_000))
    assert old == "token_too_old"


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_numeric_date_zero_is_accepted(kit: Any, claim: str) -> None:
    """The epoch itself (0) is a valid NumericDate; -1 is not."""

    def factory() -> JwtProvider:
        return kit.rsa_provider()

    assert at(T0, factory, kit.rs256(**{claim: 0, "exp": T0 + 300})) is None
    assert at(T0, factory, kit.rs256(**{claim: -1, "exp": T0 + 300})) == "invalid_claims"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_numeric_date_upper_bound(kit: Any, claim: str) -> None:
    """2**53 is the largest NumericDate accepted (as an integer or a float); 2**53 + 1 is not.

    For ``nbf``/``iat`` the bound is checked before the time comparison, so a
    huge value is ``invalid_claims``, not "not yet valid".
    """

    def factory() -> JwtProvider:
        return kit.rsa_provider()

    over = at(_now(), factory, kit.rs256(**{claim: MAX_NUMERIC_DATE + 1}))
    assert over == "invalid_claims"
    # The float form is exactly 2**53 + 2 (2**53 + 1 is not representable).
    over_float = at(_now(), factory, _with_raw_claim(kit, claim, b"9007199254740994.0"))
    assert over_float == "invalid_claims"
    at_bound = at(_now(), factory, kit.rs256(**{claim: MAX_NUMERIC_DATE}))
    if claim == "exp":
        assert at_bound is None
        assert at(_now(), factory, _with_raw_claim(kit, claim, b"9007199254740992.0")) is None
    else:
        expected = "token_not_yet_valid" if claim == "nbf" else "token_issued_in_future"
        assert at_bound == expected


def _with_raw_claim(kit: Any, claim: str, literal: bytes) -> str:
    """An RS256 token whose ``claim`` is spelled exactly ``literal`` in the payload JSON."""
    payload = json.dumps(kit.claims(**{claim: 1234567})).encode()
    payload = payload.replace(f'"{claim}": 1234567'.encode(), f'"{claim}": '.encode() + literal)
    return kit.mint({"alg": "RS256", "kid": "k1"}, payload, kit.rsa_signer(kit.keys.rsa))


# -- item 2: size and header caps --------------------------------------------------------------


def _token_of_length(kit: Any, length: int) -> str:
    """A valid RS256 token exactly ``length`` characters long (padding claim + header field)."""
    for extra in range(4):
        base = len(kit.rs256({"x": "y" * extra}, pad=""))
        guess = max(0, (length - base) * 3 // 4 - 4)
        for pad in range(guess, guess + 12):
            token = kit.rs256({"x": "y" * extra}, pad="z" * pad)
            if len(token) == length:
                return token
    raise AssertionError(f"no token of length {length}")


@pytest.mark.parametrize("cap", [None, 1024])
def test_token_size_cap_is_inclusive(kit: Any, cap: int | None) -> None:
    """A token of exactly ``max_token_bytes`` is verified; one character more is refused."""
    overrides = {} if cap is None else {"max_token_bytes": cap}
    limit = 8192 if cap is None else cap  # 8192: the documented default

    def factory() -> JwtProvider:
        return kit.rsa_provider(**overrides)

    assert at(_now(), factory, _token_of_length(kit, limit)) is None
    assert at(_now(), factory, _token_of_length(kit, limit + 1)) == "token_too_large"


def _now() -> int:
    return int(time.time())


def test_kid_length_cap(kit: Any) -> None:
    """A ``kid`` of MAX_KID_LENGTH characters selects its key; one more is malformed."""
    longest = "k" * MAX_KID_LENGTH

    def factory(kid: str) -> Any:
        def build() -> JwtProvider:
            return kit.rsa_provider(
                jwks={"keys": [kit.public_jwk(kit.keys.rsa, kid=kid)]}, max_token_bytes=65536
            )

        return build

    assert at(_now(), factory(longest), kit.rs256({"kid": longest})) is None
    too_long = longest + "k"
    assert at(_now(), factory(longest), kit.rs256({"kid": too_long})) == "malformed_token"
    with pytest.raises(ConfigError, match="kid"):  # a JWK with such a kid is unusable too
        factory(too_long)()
    # The smallest kid (one character) is a kid too; the empty string is not.
    assert at(_now(), factory("k"), kit.rs256({"kid": "k"})) is None
    assert at(_now(), factory("k"), kit.rs256({"kid": ""})) == "malformed_token"


@pytest.fixture(scope="module")
def p256_keys() -> list[ec.EllipticCurvePrivateKey]:
    """Enough P-256 keys to go past the keys-tried limit."""
    return [ec.generate_private_key(ec.SECP256R1()) for _ in range(MAX_KEYS_TRIED + 2)]


@pytest.mark.parametrize(("position", "expected"), [(7, None), (8, "invalid_signature")])
def test_keys_tried_for_a_token_without_kid(
    kit: Any, p256_keys: list[ec.EllipticCurvePrivateKey], position: int, expected: str | None
) -> None:
    """Without ``kid``, the first MAX_KEYS_TRIED keys for the algorithm are tried, no more.

    The token is signed by the key at ``position`` (0-based) of the JWKS: the
    eighth key (index 7) verifies it, the ninth is never tried.
    """
    jwks = {"keys": [kit.public_jwk(key) for key in p256_keys]}

    def factory() -> JwtProvider:
        return JwtProvider(kit.settings(algorithms=["ES256"], jwks=jwks))

    signer = kit.ec_signer(p256_keys[position], hashes.SHA256)
    token = kit.mint({"alg": "ES256"}, kit.claims(), signer)
    assert at(_now(), factory, token) == expected
    # The first key always verifies (the limit is a count, not an off-by-one at zero).
    first = kit.mint({"alg": "ES256"}, kit.claims(), kit.ec_signer(p256_keys[0], hashes.SHA256))
    assert at(_now(), factory, first) is None
