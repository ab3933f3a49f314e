"""Keys, settings and tokens for the JWT rows, made at run time (never committed).

One issuer per algorithm: RS256 (RSA-2048), ES256 (P-256) and HS256 (a
random 32-byte secret). Public keys reach the provider as an inline JWKS with
a ``kid``; python-jose's baseline gets the same key prepared once as a
``jose.jwk`` key object.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["AUDIENCE", "ISSUER", "Issuer", "make_issuer"]

ISSUER = "https://issuer.bench.example/"
AUDIENCE = "https://api.bench.example"


@dataclass
class Issuer:
    """One signing key and what both sides need to verify its tokens.

    Attributes:
        alg: The algorithm.
        settings: The ``[jwt]`` settings for authplug's provider.
        jose_key: The prepared python-jose key for the baseline.
        signing_key: The private key (PEM) or the secret, for minting tokens.
        kid: The key id.
    """

    alg: str
    settings: dict[str, Any]
    jose_key: Any
    signing_key: Any
    kid: str

    def token(self, *, sub: str = "user-1", jti: str | None = None, lifetime: int = 3600) -> str:
        """Mint a token with realistic claims (about 450 bytes of payload)."""
        from jose import jwt

        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": sub,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": jti or secrets.token_urlsafe(12),
            "scope": "openid profile email read:documents write:documents",
            "roles": ["reader", "editor"],
            "given_name": "Ada",
            "family_name": "Lovelace",
            "email": "ada@example.com",
            "azp": "bench-client-0123456789",
        }
        return jwt.encode(
            claims, self.signing_key, algorithm=self.alg, headers={"kid": self.kid, "typ": "JWT"}
        )

    def jose_decode(self, token: str) -> dict[str, Any]:
        """python-jose's own decode with the prepared key and the same claim checks."""
        from jose import jwt

        return jwt.decode(
            token,
            self.jose_key,
            algorithms=[self.alg],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require_exp": True, "require_iat": True, "require_sub": True, "leeway": 60},
        )


def make_issuer(alg: str, **settings: Any) -> Issuer:
    """A fresh key for ``alg`` (``RS256``, ``ES256`` or ``HS256``) and its settings."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jose import jwk

    kid = f"bench-{alg.lower()}"
    base: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "algorithms": [alg]}
    if alg == "HS256":
        secret = secrets.token_urlsafe(32)
        base["hmac_secret"] = secret
        base.update(settings)
        return Issuer(alg, base, jwk.construct(secret.encode(), alg), secret.encode(), kid)
    private: Any
    if alg == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        raise ValueError(f"unsupported bench algorithm {alg}")
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    public_jwk = jwk.construct(public_pem, alg).to_dict()
    public_jwk.update({"kid": kid, "use": "sig", "alg": alg})
    base["jwks"] = {"keys": [public_jwk]}
    base.update(settings)
    return Issuer(alg, base, jwk.construct(public_jwk, alg), private_pem, kid)
