"""The negative suite: every bad token is a typed rejection with a reason code.

Each check uses ``pytest.raises(..., match=<the reason's fixed message>)`` so
the suite keeps its teeth under ``python -O`` (see test_optimised.py), where
plain ``assert`` statements vanish.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from authplug.errors import NotAuthenticatedError
from authplug.jose.errors import REASONS
from authplug_jwt import JwtProvider, TokenRejectedError


def rejected(provider: JwtProvider, token: str, code: str) -> TokenRejectedError:
    """Assert that verify() and authenticate() both reject ``token`` with ``code``."""
    with pytest.raises(TokenRejectedError, match=re.escape(REASONS[code])) as info:
        provider.verify(token)
    with pytest.raises(TokenRejectedError, match=re.escape(REASONS[code])):
        provider.authenticate(_request(token))
    return info.value


def _request(token: str) -> Any:
    from authplug.request import AuthRequest

    return AuthRequest(
        method="GET", path="/api", headers=[(b"authorization", f"Bearer {token}".encode("latin-1"))]
    )


# -- alg ------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_with_a_signature(kit: Any, alg: str) -> None:
    token = kit.mint({"alg": alg, "kid": "k1"}, kit.claims(), lambda _: b"sig")
    rejected(kit.rsa_provider(), token, "unsupported_algorithm")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_with_empty_signature(kit: Any, alg: str) -> None:
    token = kit.mint({"alg": alg}, kit.claims(), lambda _: b"")
    rejected(kit.rsa_provider(), token, "malformed_token")


def test_rs256_with_empty_signature(kit: Any) -> None:
    good = kit.rs256()
    rejected(kit.rsa_provider(), good.rsplit(".", 1)[0] + ".", "malformed_token")


@pytest.mark.parametrize("alg", ["S256", "RS", "rs256", "RS256 ", "", None, 256, ["RS256"]])
def test_alg_substring_case_and_type(kit: Any, alg: Any) -> None:
    token = kit.mint({"alg": alg, "kid": "k1"}, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    rejected(kit.rsa_provider(), token, "unsupported_algorithm")


def test_alg_missing(kit: Any) -> None:
    token = kit.mint({"kid": "k1"}, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    rejected(kit.rsa_provider(), token, "unsupported_algorithm")


def _rsa_public_encodings(key: Any, jwk: dict[str, Any]) -> dict[str, bytes]:
    public = key.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pkcs1-pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "der": der,
        "jwk": json.dumps(jwk).encode(),
        "base64-der": base64.b64encode(der),
        "ssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }


@pytest.mark.parametrize("form", ["pem", "pkcs1-pem", "der", "jwk", "base64-der", "ssh"])
def test_hs256_signed_with_rsa_public_key(kit: Any, form: str) -> None:
    jwk = kit.public_jwk(kit.keys.rsa, kid="k1")
    secret = _rsa_public_encodings(kit.keys.rsa, jwk)[form]
    token = kit.mint({"alg": "HS256", "kid": "k1"}, kit.claims(), kit.hmac_signer(secret))
    rejected(kit.rsa_provider(), token, "unsupported_algorithm")
    # Also with the RSA key configured as a PEM (no kid) rather than a JWKS.
    pem = _rsa_public_encodings(kit.keys.rsa, jwk)["pem"].decode()
    rejected(JwtProvider(kit.settings(public_keys=[pem])), token, "unsupported_algorithm")


@pytest.mark.parametrize("form", ["pem", "ssh", "der"])
def test_ecdsa_public_key_as_hmac_secret(kit: Any, form: str) -> None:
    public = kit.keys.p256.public_key()
    secret = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "ssh": public.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    }[form]
    provider = JwtProvider(
        kit.settings(algorithms=["ES256"], jwks={"keys": [kit.public_jwk(kit.keys.p256, kid="e1")]})
    )
    token = kit.mint({"alg": "HS256", "kid": "e1"}, kit.claims(), kit.hmac_signer(secret))
    rejected(provider, token, "unsupported_algorithm")


# -- ECDSA signatures and curves ------------------------------------------------------


@pytest.fixture
def es256_provider(kit: Any) -> JwtProvider:
    return JwtProvider(
        kit.settings(algorithms=["ES256"], jwks={"keys": [kit.public_jwk(kit.keys.p256, kid="e1")]})
    )


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.mark.parametrize(
    "signature",
    [
        bytes(64),
        P256_ORDER.to_bytes(32, "big") * 2,
        (P256_ORDER + 1).to_bytes(32, "big") * 2,
        b"\xff" * 64,
        bytes(63),
        bytes(65),
    ],
    ids=["r=s=0", "r=s=n", "r=s=n+1", "r=s=max", "63-bytes", "65-bytes"],
)
def test_psychic_and_malformed_ecdsa_signatures(
    kit: Any, es256_provider: JwtProvider, signature: bytes
) -> None:
    token = kit.mint({"alg": "ES256", "kid": "e1"}, kit.claims(), lambda _: signature)
    rejected(es256_provider, token, "invalid_signature")


def test_der_encoded_ecdsa_signature(kit: Any, es256_provider: JwtProvider) -> None:
    token = kit.mint(
        {"alg": "ES256", "kid": "e1"},
        kit.claims(),
        lambda data: kit.keys.p256.sign(data, ec.ECDSA(hashes.SHA256())),
    )
    rejected(es256_provider, token, "invalid_signature")


def test_es256_header_with_p384_key(kit: Any) -> None:
    provider = JwtProvider(
        kit.settings(
            algorithms=["ES256", "ES384"],
            jwks={"keys": [kit.public_jwk(kit.keys.p384, kid="e1")]},
        )
    )
    for digest in (hashes.SHA256, hashes.SHA384):
        token = kit.mint(
            {"alg": "ES256", "kid": "e1"}, kit.claims(), kit.ec_signer(kit.keys.p384, digest)
        )
        rejected(provider, token, "unknown_key")


def test_p384_jwk_declaring_es256_is_not_used(kit: Any) -> None:
    with pytest.raises(Exception, match="no key usable"):
        JwtProvider(
            kit.settings(
                algorithms=["ES256"],
                jwks={"keys": [kit.public_jwk(kit.keys.p384, kid="e1", alg="ES256")]},
            )
        )


# -- kid ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid", ["../../dev/null", "../../../../etc/passwd", "' OR '1'='1", "\x00", "k1\x00", "K1"]
)
def test_kid_injection_strings(kit: Any, kid: str) -> None:
    token = kit.rs256({"kid": kid})
    rejected(kit.rsa_provider(), token, "unknown_key")


@pytest.mark.parametrize("kid", [123, {}, [], True, None, ""])
def test_kid_not_a_string(kit: Any, kid: Any) -> None:
    token = kit.rs256({"kid": kid})
    rejected(kit.rsa_provider(), token, "malformed_token")


def test_kid_64_kb(kit: Any) -> None:
    token = kit.rs256({"kid": "a" * 65536})
    rejected(kit.rsa_provider(), token, "token_too_large")
    kid = "a" * 2048
    big = kit.rsa_provider(max_token_bytes=65536)
    rejected(big, kit.rs256({"kid": kid}), "malformed_token")


def test_right_kid_other_key(kit: Any) -> None:
    token = kit.mint(
        {"alg": "RS256", "kid": "k1"}, kit.claims(), kit.rsa_signer(kit.keys.rsa_other)
    )
    rejected(kit.rsa_provider(), token, "invalid_signature")


def test_kid_matches_but_key_type_does_not(kit: Any) -> None:
    provider = JwtProvider(
        kit.settings(
            algorithms=["RS256", "ES256"],
            jwks={
                "keys": [
                    kit.public_jwk(kit.keys.rsa, kid="k1"),
                    kit.public_jwk(kit.keys.p256, kid="e1"),
                ]
            },
        )
    )
    token = kit.mint(
        {"alg": "ES256", "kid": "k1"}, kit.claims(), kit.ec_signer(kit.keys.p256, hashes.SHA256)
    )
    rejected(provider, token, "unknown_key")


# -- crit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"crit": ["foo"], "foo": 1},
        {"crit": []},
        {"crit": "foo"},
        {"crit": ["alg"]},
        {"crit": ["b64"], "b64": False},
        {"crit": None},
    ],
)
def test_crit(kit: Any, header: dict[str, Any]) -> None:
    rejected(kit.rsa_provider(), kit.rs256(header), "unsupported_crit")


# -- time claims ----------------------------------------------------------------------


def test_expired_beyond_leeway(kit: Any) -> None:
    now = int(time.time())
    rejected(kit.rsa_provider(), kit.rs256(exp=now - 61), "token_expired")
    rejected(kit.rsa_provider(leeway=0), kit.rs256(exp=now), "token_expired")


def test_nbf_in_future(kit: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(nbf=int(time.time()) + 120), "token_not_yet_valid")


def test_iat_in_future(kit: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(iat=int(time.time()) + 10**8), "token_issued_in_future")
    rejected(kit.rsa_provider(), kit.rs256(iat=int(time.time()) + 120), "token_issued_in_future")


def test_max_age(kit: Any) -> None:
    provider = kit.rsa_provider(max_age=600, leeway=0)
    rejected(provider, kit.rs256(iat=int(time.time()) - 601), "token_too_old")
    rejected(provider, kit.rs256(iat=kit.DROP), "missing_claim")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [True, False, None, "1795837198", [], {}, -1, 2**64, 1e300],
    ids=["true", "false", "null", "string", "list", "object", "negative", "2^64", "1e300"],
)
def test_time_claim_types(kit: Any, claim: str, value: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(**{claim: value}), "invalid_claims")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"])
def test_time_claim_non_standard_numbers(kit: Any, literal: bytes) -> None:
    payload = json.dumps(kit.claims(exp=0)).encode().replace(b'"exp": 0', b'"exp": ' + literal)
    token = kit.mint({"alg": "RS256", "kid": "k1"}, payload, kit.rsa_signer(kit.keys.rsa))
    code = "invalid_claims" if literal.endswith(b"1e400") else "malformed_token"
    rejected(kit.rsa_provider(), token, code)


def test_exp_missing(kit: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(exp=kit.DROP), "missing_claim")


# -- audience and issuer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("aud", "code"),
    [
        ([], "invalid_audience"),
        ("https://api.example-evil", "invalid_audience"),
        ("https://api.exampl", "invalid_audience"),
        ("HTTPS://API.EXAMPLE", "invalid_audience"),
        ("https://api.example ", "invalid_audience"),
        (["https://api.example", "https://untrusted.example"], "invalid_audience"),
        (["https://api.example", 1], "invalid_audience"),
        ([["https://api.example"]], "invalid_audience"),
        (None, "invalid_audience"),
        ({"aud": "https://api.example"}, "invalid_audience"),
        ("", "invalid_audience"),
    ],
)
def test_audience(kit: Any, aud: Any, code: str) -> None:
    rejected(kit.rsa_provider(), kit.rs256(aud=aud), code)


def test_audience_missing(kit: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(aud=kit.DROP), "missing_claim")


def test_additional_audience_alone_is_not_enough(kit: Any) -> None:
    provider = kit.rsa_provider(additional_audiences=["https://issuer.example/userinfo"])
    rejected(provider, kit.rs256(aud="https://issuer.example/userinfo"), "invalid_audience")


@pytest.mark.parametrize(
    "iss", [123, ["https://issuer.example/"], "https://issuer.example", "HTTPS://issuer.example/"]
)
def test_issuer_wrong_or_not_a_string(kit: Any, iss: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(iss=iss), "invalid_issuer")


def test_issuer_missing(kit: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(iss=kit.DROP), "missing_claim")


@pytest.mark.parametrize("sub", [123, ["u"], {"id": "u"}, True])
def test_sub_not_a_string(kit: Any, sub: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(sub=sub), "invalid_claims")


def test_required_claim_missing(kit: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(sub=kit.DROP), "missing_claim")
    provider = kit.rsa_provider(required_claims=["sub", "email"])
    rejected(provider, kit.rs256(), "missing_claim")


# -- typ ------------------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["logout+jwt", "JWE", "secevent+jwt", 1, None, ""])
def test_wrong_typ(kit: Any, typ: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256({"typ": typ}), "invalid_type")


def test_typ_required(kit: Any) -> None:
    provider = kit.rsa_provider(accepted_types=["at+jwt"], require_type=True)
    token = kit.mint({"alg": "RS256", "kid": "k1"}, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    rejected(provider, token, "invalid_type")
    rejected(provider, kit.rs256({"typ": "JWT"}), "invalid_type")


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", None])
def test_access_token_with_nonce_is_refused(kit: Any, typ: str | None) -> None:
    """Issue #8 item 4: RFC 9068 access tokens carry no nonce; an ID token replayed as one does."""
    provider = kit.rsa_provider(accepted_types=["at+jwt"], require_type=typ is not None)
    header: dict[str, Any] = {"alg": "RS256", "kid": "k1"}
    if typ is not None:
        header["typ"] = typ
    token = kit.mint(header, kit.claims(nonce="n-0S6_WzA2Mj"), kit.rsa_signer(kit.keys.rsa))
    rejected(provider, token, "nonce_in_access_token")
    without = kit.mint(header, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    assert provider.verify(without)["sub"] == "user-1"


def test_nonce_is_fine_outside_access_token_mode(kit: Any) -> None:
    token = kit.rs256({"typ": "JWT"}, nonce="n")
    assert kit.rsa_provider().verify(token)["nonce"] == "n"


# -- structure and encoding -----------------------------------------------------------


@pytest.mark.parametrize("segments", [2, 4, 5])
def test_segment_count(kit: Any, segments: int) -> None:
    parts = kit.rs256().split(".")
    token = ".".join((parts * 2)[:segments])
    rejected(kit.rsa_provider(), token, "malformed_token")


@pytest.mark.parametrize("token", ["..", "a..c", ".b.c", "a.b.", "", ".", "a.b.c d", "ä.b.c"])
def test_empty_or_foreign_segments(kit: Any, token: str) -> None:
    if token == "":
        with pytest.raises(TokenRejectedError, match=re.escape(REASONS["malformed_token"])):
            kit.rsa_provider().verify(token)
        return
    rejected(kit.rsa_provider(), token, "malformed_token")


@pytest.mark.parametrize("header", [b"[]", b'"RS256"', b"1", b"null"])
def test_header_not_an_object(kit: Any, header: bytes) -> None:
    token = kit.mint(header, kit.claims(), kit.rsa_signer(kit.keys.rsa))
    rejected(kit.rsa_provider(), token, "malformed_token")


def test_duplicate_names(kit: Any) -> None:
    provider = kit.rsa_provider()
    signer = kit.rsa_signer(kit.keys.rsa)
    payload = json.dumps(kit.claims(sub="alice")).encode()[:-1] + b', "sub": "admin"}'
    rejected(provider, kit.mint({"alg": "RS256", "kid": "k1"}, payload, signer), "malformed_token")
    header = b'{"alg": "none", "kid": "k1", "alg": "RS256"}'
    rejected(provider, kit.mint(header, kit.claims(), signer), "malformed_token")
    nested = json.dumps(kit.claims()).encode()[:-1] + b', "x": {"a": 1, "a": 2}}'
    rejected(provider, kit.mint({"alg": "RS256", "kid": "k1"}, nested, signer), "malformed_token")


@pytest.mark.parametrize("part", ["header", "payload"])
@pytest.mark.parametrize("encoding", ["latin-1-bytes", "utf-16", "utf-32", "overlong"])
def test_invalid_utf8(kit: Any, part: str, encoding: str) -> None:
    header = json.dumps({"alg": "RS256", "kid": "k1"})
    payload = json.dumps(kit.claims(given_name="X"))

    def encode(text: str) -> bytes:
        if encoding == "latin-1-bytes":
            return text.replace('"k1"', '"k\xe91"').replace('"X"', '"\xe9"').encode("latin-1")
        if encoding == "overlong":
            return (
                text.replace('"k1"', '"k\xc0\xaf"').replace('"X"', '"\xc0\xaf"').encode("latin-1")
            )
        return text.encode(encoding)

    h = encode(header) if part == "header" else header.encode()
    p = encode(payload) if part == "payload" else payload.encode()
    token = kit.mint(h, p, kit.rsa_signer(kit.keys.rsa))
    rejected(kit.rsa_provider(), token, "malformed_token")


@pytest.mark.parametrize(
    "suffix",
    ["=", "==", "!!", "%3D", ".", "\t."],
    ids=["pad1", "pad2", "bangs", "urlenc", "dot", "tab"],
)
def test_padded_signature(kit: Any, suffix: str) -> None:
    rejected(kit.rsa_provider(), kit.rs256() + suffix, "malformed_token")


def test_non_canonical_signature(kit: Any) -> None:
    token = kit.rs256()
    head, sig = token.rsplit(".", 1)
    # 256-byte RSA signature: 342 characters, 2 left over: the last carries 4 spare bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    value = alphabet.index(sig[-1])
    tweaked = sig[:-1] + alphabet[value | 1]
    assert base64.urlsafe_b64decode(tweaked + "==") == base64.urlsafe_b64decode(sig + "==")
    rejected(kit.rsa_provider(), f"{head}.{tweaked}", "malformed_token")


def test_standard_base64_alphabet(kit: Any) -> None:
    token = kit.rs256()
    head, sig = token.rsplit(".", 1)
    std = sig.replace("-", "+").replace("_", "/")
    if std == sig:
        std = sig[:-2] + "+" + sig[-1]
    rejected(kit.rsa_provider(), f"{head}.{std}", "malformed_token")


def test_token_over_size_cap(kit: Any) -> None:
    rejected(kit.rsa_provider(), kit.rs256(pad="x" * 8192), "token_too_large")
    rejected(kit.rsa_provider(), "a" * 100_000, "token_too_large")


@pytest.mark.parametrize("part", ["header", "payload"])
def test_deeply_nested_json(kit: Any, part: str) -> None:
    depth = 20_000
    nested = b"[" * depth + b"]" * depth
    header = b'{"alg":"RS256","kid":"k1","x":' + nested + b"}" if part == "header" else None
    payload = json.dumps(kit.claims()).encode()[:-1] + b',"x":' + nested + b"}"
    token = kit.mint(
        header or {"alg": "RS256", "kid": "k1"},
        payload if part == "payload" else kit.claims(),
        kit.rsa_signer(kit.keys.rsa),
    )
    rejected(kit.rsa_provider(max_token_bytes=65536), token, "malformed_token")


# -- keys in the JWKS -----------------------------------------------------------------


def test_weak_rsa_key_in_jwks_is_dropped(kit: Any) -> None:
    provider = JwtProvider(
        kit.settings(
            jwks={
                "keys": [
                    kit.public_jwk(kit.keys.rsa_weak, kid="weak"),
                    kit.public_jwk(kit.keys.rsa, kid="k1"),
                ]
            }
        )
    )
    token = kit.mint(
        {"alg": "RS256", "kid": "weak"}, kit.claims(), kit.rsa_signer(kit.keys.rsa_weak)
    )
    rejected(provider, token, "unknown_key")


def test_ec_point_off_curve_is_dropped(kit: Any) -> None:
    bad = kit.public_jwk(kit.keys.p256, kid="bad")
    y = base64.urlsafe_b64decode(bad["y"] + "==")
    bad["y"] = kit.b64(y[:-1] + bytes([y[-1] ^ 1]))
    provider = JwtProvider(
        kit.settings(
            algorithms=["ES256"],
            jwks={"keys": [bad, kit.public_jwk(kit.keys.p256, kid="e1")]},
        )
    )
    token = kit.mint(
        {"alg": "ES256", "kid": "bad"}, kit.claims(), kit.ec_signer(kit.keys.p256, hashes.SHA256)
    )
    rejected(provider, token, "unknown_key")


@pytest.mark.parametrize(
    "extra", [{"use": "enc"}, {"key_ops": ["encrypt"]}, {"alg": "RS512"}], ids=str
)
def test_jwk_restrictions_are_honoured(kit: Any, extra: dict[str, Any]) -> None:
    provider = JwtProvider(
        kit.settings(
            jwks={
                "keys": [
                    kit.public_jwk(kit.keys.rsa, kid="k1", **extra),
                    kit.public_jwk(kit.keys.rsa_other, kid="k2"),
                ]
            }
        )
    )
    rejected(provider, kit.rs256(), "unknown_key")


# -- exception boundary ---------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        "eyJhbGciOiJSUzI1NiJ9.AAAA.AAAA",
        "e30.e30.e30",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.AAAA",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.W10.AAAA",
        "a" * 50 + "." + "b" * 50 + "." + "c" * 50,
        "\udcff.a.b",
        "\x00.\x00.\x00",
    ],
)
def test_garbage_yields_only_typed_errors(kit: Any, token: str) -> None:
    with pytest.raises(NotAuthenticatedError):
        kit.rsa_provider().verify(token)
