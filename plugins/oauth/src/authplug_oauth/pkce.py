"""PKCE (RFC 7636) with ``S256`` only, and the other per-login secrets.

The verifier is 43 characters of base64url from 32 random bytes: 256 bits of
entropy, the most RFC 7636 §7.1 asks for. ``state`` is the flow transaction id
(128 random bits, :meth:`authplug.request.FlowAccess.begin`); the nonce is 256 bits.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["code_challenge", "new_nonce", "new_verifier"]


def new_verifier() -> str:
    """A fresh code verifier (256 random bits, 43 base64url characters)."""
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    """A fresh OpenID Connect nonce (256 random bits)."""
    return secrets.token_urlsafe(32)


def code_challenge(verifier: str) -> str:
    """The ``S256`` challenge of ``verifier``: base64url(SHA-256(ascii(verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
