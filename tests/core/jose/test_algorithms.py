"""PS256/384/512 and EdDSA through python-jose's own extension point, checked
against tokens minted by an independent library (PyJWT), and the backend
python-jose runs on."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest
from jose import jwk, jws

from authplug.errors import PluginLoadError
from authplug.jose.algorithms import (
    EdDSAKey,
    RSAPSSKey,
    check_backends,
    register_extension_algorithms,
)


@pytest.fixture(autouse=True)
def _registered() -> None:
    register_extension_algorithms()


@pytest.mark.parametrize("alg", ["PS256", "PS384", "PS512"])
def test_pss_via_python_jose(jose: Any, alg: str) -> None:
    token = pyjwt.encode({"sub": "u"}, jose.keys.rsa, algorithm=alg, headers={"kid": "k1"})
    key = jwk.construct(jose.public_jwk(jose.keys.rsa), alg)
    assert isinstance(key, RSAPSSKey)
    assert jws.verify(token, key, algorithms=[alg]) == b'{"sub":"u"}'
    other = jwk.construct(jose.public_jwk(jose.keys.rsa_other), alg)
    with pytest.raises(jws.JWSError):
        jws.verify(token, other, algorithms=[alg])


def test_pss_salt_length_is_strict(jose: Any) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header_payload = b"eyJhbGciOiJQUzI1NiJ9.e30"
    sig = jose.keys.rsa.sign(
        header_payload,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )
    key = RSAPSSKey(jose.keys.rsa.public_key(), "PS256")
    assert key.verify(header_payload, sig) is False


def test_eddsa_via_python_jose(jose: Any) -> None:
    token = pyjwt.encode({"sub": "u"}, jose.keys.ed, algorithm="EdDSA")
    key = jwk.construct(jose.public_jwk(jose.keys.ed), "EdDSA")
    assert isinstance(key, EdDSAKey)
    assert jws.verify(token, key, algorithms=["EdDSA"]) == b'{"sub":"u"}'
    assert key.public_key().to_dict()["crv"] == "Ed25519"


def test_extension_keys_refuse_wrong_material(jose: Any) -> None:
    with pytest.raises(jwk.JWKError):
        RSAPSSKey(jose.public_jwk(jose.keys.p256), "PS256")
    with pytest.raises(jwk.JWKError):
        RSAPSSKey(jose.public_jwk(jose.keys.rsa), "RS256")
    with pytest.raises(jwk.JWKError):
        EdDSAKey(jose.public_jwk(jose.keys.rsa), "EdDSA")
    with pytest.raises(jwk.JWKError):
        EdDSAKey({"kty": "OKP", "crv": "Ed448", "x": "AAAA"}, "EdDSA")
    with pytest.raises(jwk.JWKError):
        RSAPSSKey(jose.public_jwk(jose.keys.rsa, d="AAAA"), "PS256")


def test_registration_is_idempotent_and_refuses_foreign_classes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register_extension_algorithms()
    assert jwk.get_key("PS256") is RSAPSSKey
    assert jwk.get_key("EdDSA") is EdDSAKey

    class Foreign(jwk.Key):  # type: ignore[misc]
        pass

    from jose.constants import ALGORITHMS

    monkeypatch.setitem(ALGORITHMS.KEYS, "PS384", Foreign)
    with pytest.raises(PluginLoadError, match="PS384"):
        register_extension_algorithms()


def test_cryptography_backend_only(monkeypatch: pytest.MonkeyPatch) -> None:
    check_backends()
    from jose.backends import cryptography_backend

    assert jwk.get_key("ES256") is cryptography_backend.CryptographyECKey
    from jose.backends.ecdsa_backend import ECDSAECKey
    from jose.constants import ALGORITHMS

    monkeypatch.setitem(ALGORITHMS.KEYS, "ES256", ECDSAECKey)
    with pytest.raises(PluginLoadError, match="python-jose\\[cryptography\\]"):
        check_backends()
