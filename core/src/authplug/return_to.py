"""Same-origin ``return_to`` checking (open-redirect defence).

A ``return_to`` value is where a browser lands after login. It is captured by
the host when a login starts and kept in the encrypted flow cookie; a
provider's ``Authenticated.redirect_to`` goes through the same check. Only a
same-origin path starting with exactly one ``/`` is honoured; anything else
(an absolute URL, a scheme-relative ``//host``, a backslash trick, control
characters, percent-encoded variants of those, an oversized value) is refused
and the caller falls back to ``config.default_redirect``.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

__all__ = ["MAX_RETURN_TO_LENGTH", "safe_return_to"]

MAX_RETURN_TO_LENGTH = 2048
"""Longest ``return_to`` accepted, in characters."""

_MAX_DECODE_ROUNDS = 4


def _layer_is_safe(value: str) -> bool:
    """Check one (raw or decoded) form of the value."""
    if not value.startswith("/") or value[1:2] in ("/", "\\"):
        return False
    if "\\" in value:
        return False
    if not value.isascii():
        # Look-alikes (fullwidth solidus, division slash...) must not fold into "//".
        folded = unicodedata.normalize("NFKC", value)
        if folded[1:2] in ("/", "\\") or "\\" in folded:
            return False
    # Browsers strip tab/CR/LF inside URLs ("/\t/evil" -> "//evil"): refuse
    # every control, format or separator character except the plain space.
    return all(
        ch == " " or unicodedata.category(ch)[0] not in ("C", "Z")
        for ch in value
        if not (ch.isascii() and ch.isprintable())
    )


def safe_return_to(value: str | None) -> str | None:
    """Return ``value`` when it is a safe same-origin path, else ``None``.

    Accepted: ASCII text of at most :data:`MAX_RETURN_TO_LENGTH` characters
    that starts with exactly one ``/`` (not ``//`` nor ``/\\``), contains no
    backslash, whitespace-prefix or control character, and still satisfies
    all of that after each round of percent-decoding (so ``/%2F%2Fevil`` and
    ``/%5Cevil`` are refused too).

    :param value: The candidate, e.g. the request's path and query.
    :return: ``value`` unchanged when safe; ``None`` otherwise (the caller
        uses ``default_redirect``).
    """
    if not value or len(value) > MAX_RETURN_TO_LENGTH or not value.isascii():
        return None
    if any(not ch.isprintable() for ch in value):
        return None
    layer = value
    for _ in range(_MAX_DECODE_ROUNDS):
        if not _layer_is_safe(layer):
            return None
        try:
            decoded = unquote(layer, errors="strict") if "%" in layer else layer
        except UnicodeDecodeError:
            return None
        if decoded == layer:
            return value
        layer = decoded
    # Still changing after several decoding rounds: nested encoding is an attack.
    return None
