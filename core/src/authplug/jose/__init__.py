"""authplug.jose: strict JWS/JWT verification shared by every provider that reads JWTs.

Install with the ``authplug[jose]`` extra (python-jose on the ``cryptography``
backend, httpx). ``import authplug`` never imports this package, so the core and
the mock provider stay light; the ``jwt`` (bearer tokens) and ``oauth`` (ID
tokens) providers build on it instead of each carrying a copy.

Modules, one job each:

* :mod:`~authplug.jose.compact` - the compact serialization, strictly:
  canonical unpadded base64url, UTF-8 JSON objects without duplicate members;
* :mod:`~authplug.jose.algorithms` - the accepted algorithms, PS256/384/512 and
  EdDSA registered with python-jose, the backend check;
* :mod:`~authplug.jose.keys` - keys parsed once and selected by
  ``kid``/``kty``/``alg``/``use`` (:class:`~authplug.jose.keys.KeySet`);
* :mod:`~authplug.jose.jwks` - a JWKS URL fetched through :mod:`authplug.fetch`,
  cached, refetched at most once per interval for an unknown ``kid``, stale if error;
* :mod:`~authplug.jose.claims` - the registered claims, typed and in range,
  and the window in which they stay valid;
* :mod:`~authplug.jose.verify` - :class:`~authplug.jose.verify.TokenVerifier`,
  every step in order;
* :mod:`~authplug.jose.cache` - the verified-token cache, honouring every time bound;
* :mod:`~authplug.jose.errors` - :class:`~authplug.jose.errors.TokenRejectedError`
  and its fixed, token-free reason table.

Every failure is a typed authplug error; no python-jose exception escapes.
"""

from __future__ import annotations

from authplug.jose.algorithms import check_backends, register_extension_algorithms
from authplug.jose.cache import VerifiedTokenCache
from authplug.jose.claims import ClaimRules, Validity, check_claims
from authplug.jose.errors import REASONS, TokenRejectedError, reject
from authplug.jose.jwks import RemoteJwks
from authplug.jose.keys import (
    KeySet,
    UnusableKeyError,
    VerificationKey,
    keys_from_jwk,
    keys_from_jwks,
    keys_from_pem,
    keys_from_secret,
)
from authplug.jose.verify import ParsedToken, TokenVerifier, VerifiedToken, normalise_type

__all__ = [
    "REASONS",
    "ClaimRules",
    "KeySet",
    "ParsedToken",
    "RemoteJwks",
    "TokenRejectedError",
    "TokenVerifier",
    "UnusableKeyError",
    "Validity",
    "VerificationKey",
    "VerifiedToken",
    "VerifiedTokenCache",
    "check_backends",
    "check_claims",
    "keys_from_jwk",
    "keys_from_jwks",
    "keys_from_pem",
    "keys_from_secret",
    "normalise_type",
    "register_extension_algorithms",
    "reject",
]
