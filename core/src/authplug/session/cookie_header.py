"""Find authplug's cookies in raw ``Cookie`` header bytes.

The hot path never builds a full cookie dictionary: it searches the header
bytes for one name prefix, checks that each hit starts a cookie (at the start
of the header or after ``;`` and optional spaces), and slices the value out.
The work is linear in the header length and stops after ``limit`` hits, so an
oversized or hostile header costs a few ``bytes.find`` calls, never a loop
per byte in Python or any decoding. Every round of the search moves past the
hit it examined, so a header of ``n`` bytes takes at most ``n + 1`` rounds;
the loop is bounded by that count explicitly, so no input (and no future
edit that stops the search from advancing) can make it spin forever.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["find_cookies"]

_SPACE = 0x20
_TAB = 0x09
_SEMICOLON = 0x3B


def find_cookies(
    headers: Sequence[tuple[bytes, bytes]],
    prefix: bytes,
    *,
    max_suffix: int,
    limit: int,
) -> tuple[list[tuple[bytes, bytes]], bool]:
    """Cookies whose name is ``prefix`` followed by at most ``max_suffix`` bytes.

    :param headers: ASGI-style header pairs (lower-case names); every
        ``cookie`` header is searched.
    :param prefix: The start of the cookie names wanted (``b"name."`` or an
        exact name with ``max_suffix=0``).
    :param max_suffix: Longest name part after ``prefix``.
    :param limit: Stop after this many hits.
    :returns: ``([(suffix, value), ...], overflow)`` in header order, values
        stripped of surrounding blanks; ``overflow`` is true when more than
        ``limit`` cookies matched (the list then holds ``limit + 1``).
    """
    found: list[tuple[bytes, bytes]] = []
    plen = len(prefix)
    for header_name, header in headers:
        if header_name != b"cookie":
            continue
        start = 0
        for _ in range(len(header) + 1):
            hit = header.find(prefix, start)
            if hit < 0:
                break
            start = hit + 1
            before = hit
            while before and header[before - 1] in (_SPACE, _TAB):
                before -= 1
            if before and header[before - 1] != _SEMICOLON:
                continue
            name_end = hit + plen
            eq = header.find(b"=", name_end, name_end + max_suffix + 1)
            if eq < 0:
                continue
            end = header.find(b";", eq + 1)
            if end < 0:
                end = len(header)
            found.append((header[name_end:eq], header[eq + 1 : end].strip(b" \t")))
            if len(found) > limit:
                return found, True
            start = end
    return found, False
