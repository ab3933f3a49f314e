"""Split a sealed value across cookies ``name.0``, ``name.1``, ... and reassemble it.

The whole payload is encrypted first and the sealed string is then split, so
one GCM tag covers every chunk: a chunk spliced in from another session,
a missing or truncated chunk, all fail to open. Chunk 0's value starts with
the chunk count (``3~<data>``); a request whose chunks do not match that
count exactly (missing, extra or duplicated chunks, a count above the
maximum such as ``999``) is malformed, without looping over the claimed count.

Sizes are checked before anything is joined or decoded: a chunk value longer
than :data:`MAX_CHUNK_LENGTH` or an index at or above the chunk maximum
rejects the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from authplug.errors import SessionTooLargeError
from authplug.session.cookie_header import find_cookies

__all__ = [
    "COUNT_PREFIX_RESERVE",
    "MAX_CHUNK_LENGTH",
    "ChunkScan",
    "chunks_of",
    "cookie_header",
    "full_scan",
    "read_chunks",
    "scan_chunks",
    "scan_cookie",
    "split_value",
]

MAX_CHUNK_LENGTH = 4096
"""Longest chunk value accepted on read (a browser never sends more per cookie)."""

COUNT_PREFIX_RESERVE = 3
"""Bytes chunk 0 keeps free for its ``N~`` count prefix (``N`` is at most 99)."""

_MAX_INDEX_DIGITS = 2
_SCAN_LIMIT = 100
_TILDE = b"~"


class ChunkScan(NamedTuple):
    """The session chunks one request carried.

    Attributes:
        value: The reassembled sealed value; ``None`` when there were no
            chunks or they were malformed.
        indices: Every chunk index seen (sorted, unique), to clear them.
        malformed: Chunks were present but unusable (clear them).
    """

    value: bytes | None
    indices: tuple[int, ...]
    malformed: bool

    @property
    def chunk_count(self) -> int:
        """How many chunk names the request used (highest index + 1; 0 when none)."""
        return self.indices[-1] + 1 if self.indices else 0


_ABSENT = ChunkScan(value=None, indices=(), malformed=False)
_FIRST_ONLY = (0,)
_new_scan = tuple.__new__  # builds a ChunkScan without its Python-level __new__ (hot path)


def _index(suffix: bytes) -> int | None:
    """The chunk index named by ``suffix`` (canonical decimal), else ``None``."""
    if not suffix or not suffix.isdigit() or (len(suffix) > 1 and suffix[0] == 0x30):
        return None
    return int(suffix)


_SINGLE = b"0=1~"
_BLANKS = (0x20, 0x09)
_SEMICOLON = 0x3B
_USUAL_SEPARATOR = b"; "


def cookie_header(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    """The request's Cookie header value: several ``cookie`` headers (HTTP/2 sends one
    per cookie) joined with ``"; "`` as RFC 9113 section 8.2.3 prescribes; ``b""`` when none.
    """
    return b"; ".join([value for name, value in headers if name == b"cookie"])


def scan_cookie(cookie: bytes, prefix: bytes, max_chunks: int) -> ChunkScan | None:
    """The common cases of one Cookie header value in one pass: no chunk at all, or
    exactly one clean ``<name>.0=1~...``.

    Only answers when the result is certain: ``prefix`` occurs nowhere in
    ``cookie`` (no session), or exactly once, at the start of a cookie, as
    ``<name>.0=1~value`` with a value within :data:`MAX_CHUNK_LENGTH`.
    Anything else (more occurrences, blanks around ``=``, other indices,
    oversized values) returns ``None`` and goes through :func:`full_scan`.
    """
    if max_chunks < 1:
        return None
    hit = cookie.find(prefix)
    if hit < 0:
        return _ABSENT
    # slices compared, not startswith: bytes.startswith parses its arguments slowly
    if hit and not (hit > 1 and cookie[hit - 2 : hit] == _USUAL_SEPARATOR):
        before = hit  # not the usual "; name" spelling: walk back over blanks to a ";"
        while before and cookie[before - 1] in _BLANKS:
            before -= 1
        if before and cookie[before - 1] != _SEMICOLON:
            return None
    start = hit + len(prefix)
    if cookie[start : start + 4] != _SINGLE:
        return None
    end = cookie.find(b";", start)
    if end < 0:
        end = len(cookie)
    elif cookie.find(prefix, end) >= 0:  # the full scan also resumes at the ";"
        return None
    while cookie[end - 1] in _BLANKS:
        end -= 1
    if end - start - 2 > MAX_CHUNK_LENGTH:
        return None
    return _new_scan(ChunkScan, (cookie[start + 4 : end], _FIRST_ONLY, False))


def read_chunks(
    headers: Sequence[tuple[bytes, bytes]], base_name: bytes, max_chunks: int
) -> ChunkScan:
    """Find and reassemble the chunks of ``base_name`` in the request's Cookie headers."""
    return scan_chunks(headers, base_name + b".", max_chunks)


def scan_chunks(
    headers: Sequence[tuple[bytes, bytes]], prefix: bytes, max_chunks: int
) -> ChunkScan:
    """:func:`read_chunks` with the cookie name prefix (``base_name + b"."``) given."""
    return chunks_of(cookie_header(headers), prefix, max_chunks)


def chunks_of(cookie: bytes, prefix: bytes, max_chunks: int) -> ChunkScan:
    """The chunks under ``prefix`` in one Cookie header value: the single-chunk pass
    (:func:`scan_cookie`) when it is certain, else the full pass (:func:`full_scan`)."""
    return scan_cookie(cookie, prefix, max_chunks) or full_scan(
        ((b"cookie", cookie),), prefix, max_chunks
    )


def full_scan(headers: Sequence[tuple[bytes, bytes]], prefix: bytes, max_chunks: int) -> ChunkScan:
    """:func:`scan_chunks` without the single-chunk pass: every cookie under ``prefix``."""
    found, overflow = find_cookies(headers, prefix, max_suffix=_MAX_INDEX_DIGITS, limit=_SCAN_LIMIT)
    if not found:
        return _ABSENT
    chunks: dict[int, bytes] = {}
    malformed = overflow
    for suffix, value in found:
        index = _index(suffix)
        if index is None:
            continue  # "name.x=..." is somebody else's cookie
        if index in chunks or index >= max_chunks or len(value) > MAX_CHUNK_LENGTH:
            malformed = True
        chunks[index] = value
    if not chunks:
        return _ABSENT
    indices = tuple(sorted(chunks))
    if malformed:
        return ChunkScan(value=None, indices=indices, malformed=True)
    first = chunks.get(0)
    tilde = -1 if first is None else first.find(_TILDE, 0, _MAX_INDEX_DIGITS + 1)
    if first is None or tilde < 0:
        return ChunkScan(value=None, indices=indices, malformed=True)
    count = _index(first[:tilde])
    if count is None or not 1 <= count <= max_chunks or len(chunks) != count:
        return ChunkScan(value=None, indices=indices, malformed=True)
    if indices[-1] != count - 1:
        return ChunkScan(value=None, indices=indices, malformed=True)
    if count == 1:
        return ChunkScan(value=first[tilde + 1 :], indices=indices, malformed=False)
    parts = [first[tilde + 1 :]]
    parts.extend(chunks[i] for i in range(1, count))
    return ChunkScan(value=b"".join(parts), indices=indices, malformed=False)


def split_value(sealed: str, budgets: Sequence[int]) -> list[str]:
    """Split ``sealed`` into chunk values, chunk 0 prefixed with the count.

    :param sealed: The sealed (encrypted, encoded) value.
    :param budgets: Most value bytes chunk ``i`` may hold, one per allowed
        chunk; its length is the chunk maximum.
    :raises SessionTooLargeError: more chunks than ``budgets`` allows.
    """
    pieces: list[str] = []
    pos = 0
    total = len(sealed)
    while pos < total or not pieces:
        index = len(pieces)
        if index >= len(budgets):
            raise SessionTooLargeError(
                f"the session needs more than {len(budgets)} cookies "
                f"({total} bytes sealed); reduce auth_data/custom_data or raise max_cookie_chunks"
            )
        take = budgets[index] - (COUNT_PREFIX_RESERVE if index == 0 else 0)
        pieces.append(sealed[pos : pos + take])
        pos += take
    pieces[0] = f"{len(pieces)}~{pieces[0]}"
    return pieces
