"""Strict decoding of the JWS compact serialization (RFC 7515 §7.1).

python-jose accepts padded and non-canonical base64url (so tokens are
malleable), decodes JSON that the RFCs forbid (duplicate member names, ``NaN``)
and auto-detects UTF-16. These functions accept exactly one spelling of each
token: three non-empty segments of unpadded, canonical base64url whose
header and payload are UTF-8 JSON objects without duplicate names.
Every failure raises :class:`~authplug.jose.errors.TokenRejectedError`
(``malformed_token``); nothing from the input appears in the message.
"""

from __future__ import annotations

import binascii
import json
import re
from typing import Any, Final

from authplug.jose.errors import reject

__all__ = ["b64url_decode", "decode_segment", "json_object", "split_compact"]

_COMPACT: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
# With 2 (3) characters left over, the last one carries 4 (2) unused low
# bits that must be zero in the canonical encoding (RFC 4648 §3.5).
_CANONICAL_LAST: Final = {
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}
_PAD: Final = {0: "", 2: "==", 3: "="}


def split_compact(token: str) -> tuple[str, str, str]:
    """Split ``token`` into its header, payload and signature segments.

    :raises TokenRejectedError: not exactly three non-empty base64url segments.
    """
    if _COMPACT.fullmatch(token) is None:
        raise reject("malformed_token")
    header, payload, signature = token.split(".")
    return header, payload, signature


def b64url_decode(segment: str) -> bytes:
    """Decode unpadded, canonical base64url; anything else is rejected.

    :raises TokenRejectedError: padding, characters outside the alphabet, an
        impossible length, or non-zero unused trailing bits.
    """
    if _SEGMENT.fullmatch(segment) is None:
        raise reject("malformed_token")
    return decode_segment(segment)


def decode_segment(segment: str) -> bytes:
    """:func:`b64url_decode` for a segment :func:`split_compact` already checked the alphabet of."""
    remainder = len(segment) % 4
    if remainder == 1 or (remainder and segment[-1] not in _CANONICAL_LAST[remainder]):
        raise reject("malformed_token")
    data = (segment + _PAD[remainder]).encode("ascii").translate(_TO_STANDARD)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        raise reject("malformed_token") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member name")
    return result


def _no_constants(name: str) -> Any:
    raise ValueError("non-standard JSON constant")


_DECODER: Final = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def json_object(data: bytes) -> dict[str, Any]:
    """Parse UTF-8 JSON that must be an object with unique member names.

    :raises TokenRejectedError: invalid UTF-8, invalid JSON, ``NaN``/``Infinity``,
        duplicate names, nesting too deep for the parser, or not an object.
    """
    try:
        text = data.decode("utf-8")
        value = _DECODER.decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise reject("malformed_token") from None
    if not isinstance(value, dict):
        raise reject("malformed_token")
    return value
