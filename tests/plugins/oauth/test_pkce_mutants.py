"""The per-login secrets: their size and the ``S256`` challenge (RFC 7636).

Mutation testing showed the nonce's size unpinned: 32 random bytes, 43
base64url characters, like the verifier; the challenge is checked against
RFC 7636 Appendix B's example.
"""

from __future__ import annotations

import re

from authplug_oauth.pkce import code_challenge, new_nonce, new_verifier

BASE64URL_43 = re.compile(r"[A-Za-z0-9_-]{43}")


def test_the_nonce_and_the_verifier_are_256_random_bits() -> None:
    for make in (new_nonce, new_verifier):
        values = {make() for _ in range(20)}
        assert len(values) == 20
        assert all(BASE64URL_43.fullmatch(value) for value in values), values


def test_the_challenge_is_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
