"""``FlowTransactions``: login-transaction state in the encrypted flow cookie.

One cookie holds a short list of records ``{txn_id, data, return_to,
expires_at}``, sealed by the same codec as the session with its own
associated data (a flow cookie never opens as a session cookie, nor the
reverse). Each request reads the records, merges its changes and writes the
list back (read-merge-write), so interleaved logins in two tabs both
complete: tab A begins, tab B begins (its cookie keeps A's record), each
callback consumes only its own record. Records are single-use, expired ones
are dropped, and at most :data:`MAX_RECORDS` are kept (oldest dropped first,
also when the cookie would exceed its byte budget).

Limitation: two ``begin`` responses racing in the browser (both requests
read the same cookie before either answer arrived) each write a list
without the other's record; the last ``Set-Cookie`` wins and the other
login must be restarted. One cookie cannot do better.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authplug.errors import SessionTooLargeError
from authplug.request import FlowRecord
from authplug.results import ResponseCookie
from authplug.session.chunks import MAX_CHUNK_LENGTH
from authplug.session.codec import SessionCodec
from authplug.session.cookie_header import find_cookies
from authplug.session.cookie_policy import CookiePolicy

__all__ = ["MAX_RECORDS", "FlowEntry", "FlowState", "FlowTransactions", "read_flow_state"]

MAX_RECORDS = 8
"""Most login transactions one flow cookie keeps."""

MAX_RETURN_TO = 1024
"""Longer ``return_to`` paths are not stored (the login lands on the default page)."""

_CLOCK_SKEW = 60.0


class FlowEntry(BaseModel):
    """One stored login transaction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    txn_id: str = Field(min_length=16, max_length=64)
    data: dict[str, str]
    return_to: str | None = Field(default=None, max_length=MAX_RETURN_TO)
    expires_at: float = Field(allow_inf_nan=False)


class FlowState(BaseModel):
    """The sealed content of the flow cookie: the pending transactions, oldest first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    records: tuple[FlowEntry, ...] = Field(default=(), max_length=MAX_RECORDS)


def read_flow_state(
    headers: Sequence[tuple[bytes, bytes]], codec: SessionCodec, name: str
) -> tuple[FlowState | None, bool]:
    """Open the flow cookie ``name`` of a request.

    :returns: ``(state, present)``: ``state`` is ``None`` when no flow cookie
        came or it was unusable (malformed, tampered, duplicated, oversized);
        ``present`` says whether the request carried a flow cookie at all.
        Never raises.
    """
    try:
        found, overflow = find_cookies(headers, name.encode("ascii"), max_suffix=0, limit=1)
        if not found:
            return None, False
        value = found[0][1]
        if overflow or len(value) > MAX_CHUNK_LENGTH:
            return None, True
        opened = codec.open(value)
        if opened is None:
            return None, True
        return FlowState.model_validate_json(opened[0]), True
    except (ValidationError, ValueError):
        return None, True


class FlowTransactions:
    """The login transactions of one request (:class:`authplug.request.FlowAccess`).

    Build it with :meth:`SessionManager.open_flow
    <authplug.session.SessionManager.open_flow>`; after the request, write
    :meth:`cookies` on the response.

    Attributes:
        return_to: Same-origin path stored in the next record :meth:`begin`
            creates; set by the host (already checked to be same-origin)
            before the provider runs.
    """

    __slots__ = ("_changed", "_codec", "_lifetime", "_now", "_policy", "_records", "return_to")

    def __init__(
        self,
        records: Sequence[FlowEntry],
        *,
        codec: SessionCodec,
        policy: CookiePolicy,
        now: float,
        lifetime: float,
        changed: bool = False,
    ) -> None:
        self._codec = codec
        self._policy = policy
        self._now = now
        self._lifetime = lifetime
        self._changed = changed
        live = [r for r in records if now < r.expires_at <= now + lifetime + _CLOCK_SKEW]
        if len(live) != len(records):
            self._changed = True
        self._records: list[FlowEntry] = live[-MAX_RECORDS:]
        self.return_to: str | None = None

    def set_return_to(self, path: str | None) -> None:
        """Set :attr:`return_to` (a same-origin path the caller has checked)."""
        self.return_to = path

    @property
    def changed(self) -> bool:
        """Whether the flow cookie must be written (or cleared) on the response."""
        return self._changed

    @property
    def pending(self) -> int:
        """How many unexpired transactions are stored."""
        return len(self._records)

    def begin(self, data: Mapping[str, str]) -> str:
        """Store ``data`` (and :attr:`return_to`) for a new transaction; return its id.

        The id is a fresh random 128-bit value, suitable as OAuth ``state``.
        """
        stored = {str(k): str(v) for k, v in data.items()}
        return_to = self.return_to
        if return_to is not None and len(return_to) > MAX_RETURN_TO:
            return_to = None
        txn_id = secrets.token_urlsafe(16)
        entry = FlowEntry(
            txn_id=txn_id,
            data=stored,
            return_to=return_to,
            expires_at=self._now + self._lifetime,
        )
        self._records.append(entry)
        del self._records[:-MAX_RECORDS]
        self._changed = True
        return txn_id

    def consume(self, txn_id: str) -> FlowRecord | None:
        """Remove transaction ``txn_id`` and return it; ``None`` when unknown or expired."""
        if not isinstance(txn_id, str) or not txn_id:
            return None
        wanted = txn_id.encode("utf-8", "replace")
        for position, entry in enumerate(self._records):
            if hmac.compare_digest(entry.txn_id.encode("utf-8"), wanted):
                del self._records[position]
                self._changed = True
                if entry.expires_at <= self._now:
                    return None
                return FlowRecord(
                    txn_id=entry.txn_id, data=dict(entry.data), return_to=entry.return_to
                )
        return None

    def cookies(self) -> tuple[ResponseCookie, ...]:
        """The flow cookie to write: the records when any remain, else a clear.

        Empty when nothing changed. Oldest records are dropped until the
        cookie fits its byte budget.

        :raises SessionTooLargeError: the newest record alone does not fit.
        """
        if not self._changed:
            return ()
        if not self._records:
            return (self._policy.clear(self._policy.flow_name),)
        budget = self._policy.flow_value_budget()
        records = list(self._records)
        while records:
            value = self._codec.seal(FlowState(records=tuple(records)).model_dump_json().encode())
            if len(value) <= budget:
                return (self._policy.flow_cookie(value),)
            records.pop(0)
        raise SessionTooLargeError("a login transaction's data does not fit in the flow cookie")
