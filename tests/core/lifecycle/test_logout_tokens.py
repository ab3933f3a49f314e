"""``LogoutTokens``: the logout form's anti-CSRF token across key rotation and processes (#15.6).

A token is minted with the newest configured key and verified under every
configured key, so a form rendered before a rotation still logs out after
it, and every process (worker) configured with the same keys agrees on it.
The derivation is restated here independently (HKDF-SHA256, then
HMAC-SHA256 of the session id) so that a silent change, which would make
the forms of the previous deploy fail during a rolling restart, fails here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authplug.logout import LogoutTokens

SID = "session-id-0123456789"


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def expected_token(cookie_key: str, sid: str) -> str:
    material = base64.urlsafe_b64decode(cookie_key + "=" * (-len(cookie_key) % 4))
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"authplug logout csrf v1"
    ).derive(material)
    digest = hmac.new(key, b"logout\x00" + sid.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def test_the_token_is_derived_from_the_newest_key() -> None:
    old, new = new_key(), new_key()
    tokens = LogoutTokens([new, old])
    assert tokens.token(SID) == expected_token(new, SID)
    assert tokens.token(SID) != expected_token(old, SID)


def test_every_process_with_the_same_keys_agrees() -> None:
    keys = [new_key(), new_key()]
    one, two = LogoutTokens(keys), LogoutTokens(list(keys))
    assert one.token(SID) == two.token(SID)
    assert two.verify(SID, one.token(SID))
    assert one.verify(SID, two.token(SID))


def test_a_token_minted_before_a_rotation_verifies_after_it() -> None:
    old, new = new_key(), new_key()
    before = LogoutTokens([old]).token(SID)
    rotated = LogoutTokens([new, old])
    assert rotated.verify(SID, before)
    after = rotated.token(SID)
    assert after != before
    # Once the old key is dropped, only tokens of the remaining keys verify.
    retired = LogoutTokens([new])
    assert retired.verify(SID, after)
    assert not retired.verify(SID, before)
    # A process still on the old key alone does not accept the new key's token.
    assert not LogoutTokens([old]).verify(SID, after)


def test_every_configured_key_verifies_not_only_the_first_two() -> None:
    keys = [new_key() for _ in range(4)]
    tokens = LogoutTokens(keys)
    for key in keys:
        assert tokens.verify(SID, LogoutTokens([key]).token(SID))
    assert not tokens.verify(SID, LogoutTokens([new_key()]).token(SID))


def test_the_token_is_bound_to_the_session() -> None:
    tokens = LogoutTokens([new_key()])
    assert tokens.verify(SID, tokens.token(SID))
    assert not tokens.verify(SID + "x", tokens.token(SID))
    assert not tokens.verify(SID, tokens.token(SID + "x"))
    assert not tokens.verify(SID, "")
    assert not tokens.verify(SID, tokens.token(SID)[:-1])
    assert not tokens.verify(SID, tokens.token(SID) + "A")
    assert not tokens.verify(SID, "\udcff" + tokens.token(SID)[1:])  # never raises


def test_undecodable_keys_are_skipped_not_used() -> None:
    key = new_key()
    tokens = LogoutTokens(["not a key!", "c2hvcnQ", key])
    assert tokens.token(SID) == expected_token(key, SID)


def test_without_keys_each_process_has_its_own_random_key() -> None:
    one, two = LogoutTokens([]), LogoutTokens([])
    assert one.verify(SID, one.token(SID))
    assert one.token(SID) != two.token(SID)
    assert not two.verify(SID, one.token(SID))
    only_bad = LogoutTokens(["not a key!"])
    assert only_bad.token(SID) != LogoutTokens(["not a key!"]).token(SID)
