"""Property tests of the JWT compact parser and the claim checks (issue #8 item 8):
whatever the input, the result is a typed value or a TokenRejectedError, never
another exception. The example count follows the active hypothesis profile."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authplug.jose import (
    ClaimRules,
    KeySet,
    ParsedToken,
    TokenRejectedError,
    TokenVerifier,
    Validity,
    VerifiedToken,
    check_claims,
    keys_from_secret,
    register_extension_algorithms,
)
from authplug.jose.compact import b64url_decode, json_object, split_compact

SECRET = b"k" * 32
ISSUER = "https://issuer.example/"
AUDIENCE = "api"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \x00é"
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
claim_names = st.sampled_from(
    ["iss", "aud", "exp", "nbf", "iat", "sub", "nonce", "azp", "jti", "email", "roles"]
)
claim_values = (
    json_values
    | st.sampled_from([ISSUER, AUDIENCE, [AUDIENCE], [AUDIENCE, "other"], 1e400, -1e400])
    | st.integers(min_value=0, max_value=4_000_000_000)
    | st.floats(min_value=0, max_value=4e9)
)
claim_sets = st.dictionaries(claim_names | st.text(max_size=6), claim_values, max_size=9)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["HS256", "none", "RS256", "HS512", "hs256"]) | json_values},
    optional={
        "kid": json_values | st.text(max_size=300),
        "typ": st.sampled_from(["JWT", "at+jwt", "application/jwt"]) | json_values,
        "crit": json_values,
        "jku": st.just("http://127.0.0.1:9/jwks"),
    },
)

RULES = ClaimRules.build(
    issuers=[ISSUER],
    audiences=[AUDIENCE],
    additional_audiences=[],
    leeway=60,
    max_age=3600,
    required=["sub"],
)


def _verifier() -> TokenVerifier:
    register_extension_algorithms()
    allowed = frozenset({"HS256"})
    return TokenVerifier(
        allowed=allowed,
        static_keys=KeySet(keys_from_secret(SECRET, allowed)),
        remote=None,
        rules=RULES,
        accepted_types=frozenset({"jwt"}),
        require_type=False,
        max_token_bytes=8192,
        clock=lambda: 1_700_000_000.0,
    )


def _sign(header: Any, claims: Any) -> str:
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    text = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(SECRET, text.encode(), hashlib.sha256).digest()
    return f"{text}.{b64(signature)}"


@FUZZ
@given(st.text(alphabet=ALPHABET, max_size=400) | st.text(max_size=200))
def test_any_text_parses_or_is_rejected(token: str) -> None:
    verifier = _verifier()
    try:
        parsed: ParsedToken | str = verifier.parse(token)
    except TokenRejectedError as exc:
        parsed = exc.code
    assert isinstance(parsed, ParsedToken) or parsed in {
        "malformed_token",
        "token_too_large",
        "unsupported_algorithm",
        "unsupported_crit",
        "invalid_type",
    }


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_give_a_json_object_or_a_rejection(data: bytes) -> None:
    try:
        value: dict[str, Any] | str = json_object(data)
    except TokenRejectedError as exc:
        value = exc.code
    assert isinstance(value, dict) or value == "malformed_token"


@FUZZ
@given(st.text(alphabet=ALPHABET, max_size=200))
def test_any_segment_decodes_canonically_or_is_rejected(segment: str) -> None:
    try:
        decoded = b64url_decode(segment)
    except TokenRejectedError:
        return
    import base64

    assert base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() == segment


@FUZZ
@given(st.text(alphabet=ALPHABET, max_size=200))
def test_split_gives_three_segments_or_a_rejection(token: str) -> None:
    try:
        parts = split_compact(token)
    except TokenRejectedError:
        return
    assert len(parts) == 3
    assert all(parts)


@FUZZ
@given(claim_sets, st.floats(min_value=0, max_value=5e9) | st.integers(0, 2**40))
def test_claim_checks_give_a_window_or_a_rejection(claims: dict[str, Any], now: float) -> None:
    try:
        validity = check_claims(claims, RULES, now)
    except TokenRejectedError as exc:
        code = exc.code
    else:
        code = None
    if code is not None:
        assert code in {
            "missing_claim",
            "invalid_claims",
            "invalid_issuer",
            "invalid_audience",
            "token_expired",
            "token_not_yet_valid",
            "token_issued_in_future",
            "token_too_old",
        }
        return
    assert isinstance(validity, Validity)
    # the window says exactly when a fresh check accepts: now is inside it
    assert validity.holds_at(now)
    assert math.isfinite(validity.not_after)


@FUZZ
@given(headers, claim_sets)
def test_signed_tokens_verify_or_are_rejected(
    header: dict[str, Any], claims: dict[str, Any]
) -> None:
    verifier = _verifier()
    try:
        verified = verifier.verify(_sign(header, claims))
    except TokenRejectedError:
        return
    assert isinstance(verified, VerifiedToken)
    assert verified.claims == claims
    assert verified.validity.holds_at(1_700_000_000.0)
