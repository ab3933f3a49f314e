"""``FlowTransactions``: one encrypted cookie per login transaction.

Cookie layout
-------------

Every login transaction (OAuth ``state``/``nonce``/PKCE verifier, a SAML
request id, the ``return_to`` captured when the login started) has its own
cookie::

    <flow base name>.<txn_id>=<sealed FlowEntry>
    e.g. __Host-authplug_flow.q3VvKx0c1Yd6tS2mH9bQzA=AQx...

* The base name is :attr:`CookiePolicy.flow_name
  <authplug.session.cookie_policy.CookiePolicy.flow_name>` (``authplug_flow``,
  ``__Host-authplug_flow`` when cookies are secure).
* ``txn_id`` is a fresh random 128-bit id, base64url without padding
  (:data:`TXN_ID_LENGTH` characters). It is the OAuth ``state`` and travels in
  URLs anyway; it is not a secret.
* The value is sealed by the session codec with associated data
  ``flow:<base name>:<txn_id>``: a flow cookie renamed to another transaction,
  presented as a session chunk, or taken from another application sharing the
  key fails to open.
* The sealed :class:`FlowEntry` holds the provider's data, ``return_to`` and
  ``expires_at`` (``flow_lifetime`` after :meth:`FlowTransactions.begin`); the
  cookie's ``Max-Age`` is ``flow_lifetime`` too. Attributes are those of
  every authplug cookie: ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, and
  ``Secure`` with the ``__Host-`` prefix outside development; a transaction
  begun with ``cross_site=True`` is ``SameSite=None; Secure`` instead (see
  below).

Why one cookie per transaction: two tabs starting a login at the same moment
send the same Cookie header. With one shared cookie each response would carry
a list without the other's record, the browser would keep the last
``Set-Cookie`` and the other tab's callback would find no transaction. With
distinct names the browser keeps both cookies side by side and each callback
consumes its own, in any order.

Work per request is bounded:

* :meth:`SessionManager.open_flow <authplug.session.SessionManager.open_flow>`
  scans the Cookie header bytes for the flow cookies' names and decrypts
  nothing; it reads at most :data:`SCAN_LIMIT` of them.
* :meth:`FlowTransactions.consume` opens only the cookie named for the
  transaction (a dictionary lookup; a targeted search of the header when the
  request carried more than :data:`SCAN_LIMIT`), checks its expiry and clears
  it on the response (single use), whatever it held.
* :meth:`FlowTransactions.begin` keeps at most :data:`MAX_FLOWS` transactions
  per browser: over the cap, the cookies beyond the newest
  :data:`MAX_FLOWS` in header order (browsers list older cookies first) are
  cleared unread, and of those, the unopenable, expired and oldest by
  ``expires_at`` are cleared: at most :data:`MAX_FLOWS` decryptions, only on
  ``begin``, which is rare.
* A value longer than a flow cookie can be is dropped before decoding; a
  duplicated name is unusable. Unusable cookies are cleared when touched.

Cross-site mode: a SAML HTTP-POST ACS or an OIDC ``response_mode=form_post``
callback is a cross-site POST (the IdP's page submits a form to us), which
``SameSite=Lax`` cookies do not accompany. The provider selects, per
transaction, ``begin(data, cross_site=True)``: that one cookie is
``SameSite=None; Secure`` (Secure even in development: browsers refuse
``SameSite=None`` without it, and do not send Secure cookies to plain-http
sites, which :func:`authplug.cross_site.missing_transaction_error` explains
on the error page). The session cookie stays ``SameSite=Lax``. The mode is
sealed in the entry, so the cookie is cleared with the attributes it was set
with.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authplug.errors import SessionTooLargeError
from authplug.request import FlowRecord
from authplug.results import ResponseCookie
from authplug.session.codec import SessionCodec
from authplug.session.cookie_header import find_cookies
from authplug.session.cookie_policy import CookiePolicy
from authplug.session.keyring import KeyRing

__all__ = [
    "MAX_FLOWS",
    "MAX_RETURN_TO",
    "SCAN_LIMIT",
    "TXN_ID_LENGTH",
    "FlowEntry",
    "FlowScan",
    "FlowTransactions",
    "flow_purpose",
    "scan_flow_cookies",
]

MAX_FLOWS = 4
"""Most login transactions (flow cookies) one browser keeps; ``begin`` clears the oldest."""

SCAN_LIMIT = 16
"""Most flow cookies read from one request's Cookie header."""

TXN_ID_LENGTH = 22
"""Characters of a transaction id (128 random bits, base64url without padding)."""

MAX_RETURN_TO = 1024
"""Longer ``return_to`` paths are not stored (the login lands on the default page)."""

_CLOCK_SKEW = 60.0
_DOT = 0x2E
_TXN_ID = re.compile(f"[A-Za-z0-9_-]{{{TXN_ID_LENGTH}}}")
_TXN_ID_BYTES = re.compile(_TXN_ID.pattern.encode("ascii"))


def flow_purpose(base_name: str, txn_id: str) -> str:
    """The codec purpose (associated data) of transaction ``txn_id``'s cookie."""
    return f"flow:{base_name}:{txn_id}"


class FlowEntry(BaseModel):
    """One stored login transaction: the sealed content of its flow cookie."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    txn_id: str = Field(min_length=TXN_ID_LENGTH, max_length=TXN_ID_LENGTH)
    data: dict[str, str]
    return_to: str | None = Field(default=None, max_length=MAX_RETURN_TO)
    expires_at: float = Field(allow_inf_nan=False)
    cross_site: bool = False


class FlowScan(NamedTuple):
    """The flow cookies a request carried, found without decrypting anything.

    Attributes:
        cookies: ``(txn_id, value)`` in header order (a duplicated name
            appears twice); at most :data:`SCAN_LIMIT` cookies were read.
        overflow: More flow cookies came than were read.
    """

    cookies: tuple[tuple[str, bytes], ...] = ()
    overflow: bool = False


_NO_FLOWS = FlowScan()


def scan_flow_cookies(headers: Sequence[tuple[bytes, bytes]], base_name: str) -> FlowScan:
    """Find the flow cookies named ``<base_name>.<txn_id>``. Never raises.

    Names under the base name that are not a well-formed transaction id are
    ignored (never echoed back in a ``Set-Cookie``).
    """
    try:
        found, overflow = find_cookies(
            headers, base_name.encode("ascii"), max_suffix=1 + TXN_ID_LENGTH, limit=SCAN_LIMIT
        )
    except Exception:  # a hostile header is "no flow cookies", never a 500
        return _NO_FLOWS
    if not found:
        return _NO_FLOWS
    cookies: list[tuple[str, bytes]] = []
    for suffix, value in found[:SCAN_LIMIT]:
        if (
            len(suffix) == 1 + TXN_ID_LENGTH
            and suffix[0] == _DOT
            and _TXN_ID_BYTES.fullmatch(suffix, 1) is not None
        ):
            cookies.append((suffix[1:].decode("ascii"), value))
    return FlowScan(tuple(cookies), overflow)


class FlowTransactions:
    """The login transactions of one request (:class:`authplug.request.FlowAccess`).

    Build it with :meth:`SessionManager.open_flow
    <authplug.session.SessionManager.open_flow>`; after the request, write
    :meth:`cookies` on the response.

    :param scan: The request's flow cookies (:func:`scan_flow_cookies`).
    :param headers: The request's headers, searched again only when the
        request carried more flow cookies than were scanned.
    :param keyring: The cookie keys.
    :param policy: Cookie names and attributes.
    :param now: Current time, epoch seconds.
    :param lifetime: Seconds a new transaction stays valid.

    Attributes:
        return_to: Same-origin path stored in the next transaction
            :meth:`begin` creates; set by the host (already checked to be
            same-origin) before the provider runs.
    """

    __slots__ = (
        "_budget",
        "_cleared",
        "_headers",
        "_keyring",
        "_lifetime",
        "_new",
        "_now",
        "_opened",
        "_overflow",
        "_policy",
        "_present",
        "return_to",
    )

    def __init__(
        self,
        scan: FlowScan,
        *,
        headers: Sequence[tuple[bytes, bytes]] = (),
        keyring: KeyRing,
        policy: CookiePolicy,
        now: float,
        lifetime: float,
    ) -> None:
        self._keyring = keyring
        self._policy = policy
        self._now = now
        self._lifetime = lifetime
        self._headers = headers
        self._budget = policy.flow_value_budget(TXN_ID_LENGTH)
        self._overflow = scan.overflow
        present: dict[str, bytes | None] = {}
        for txn_id, value in scan.cookies:
            # A duplicated name (two paths, a planted copy) is unusable.
            present[txn_id] = None if txn_id in present else value
        self._present = present
        self._opened: dict[str, FlowEntry | None] = {}
        # txn_id -> whether its cookie was set in the cross-site mode
        self._cleared: dict[str, bool] = {}
        self._new: dict[str, tuple[FlowEntry, str]] = {}
        self.return_to: str | None = None

    def set_return_to(self, path: str | None) -> None:
        """Set :attr:`return_to` (a same-origin path the caller has checked)."""
        self.return_to = path

    @property
    def changed(self) -> bool:
        """Whether the response must set or clear any flow cookie."""
        return bool(self._new or self._cleared)

    @property
    def pending(self) -> int:
        """Transactions the browser keeps after this response (expiry not checked).

        The flow cookies the request carried and the response does not clear,
        plus those begun during the request and not consumed.
        """
        kept = sum(1 for txn_id in self._present if txn_id not in self._cleared)
        return kept + len(self._new)

    @property
    def present_names(self) -> tuple[str, ...]:
        """Names of the flow cookies the request carried."""
        return tuple(self._policy.flow_txn_name(txn_id) for txn_id in self._present)

    # -- transactions ----------------------------------------------------------

    def begin(self, data: Mapping[str, str], *, cross_site: bool = False) -> str:
        """Store ``data`` (and :attr:`return_to`) for a new transaction; return its id.

        The id is a fresh random 128-bit value, suitable as OAuth ``state``.
        Over :data:`MAX_FLOWS` transactions, the oldest are cleared.

        :param data: The provider's values (strings).
        :param cross_site: The transaction ends with a cross-site POST: its
            cookie is ``SameSite=None; Secure`` (see the module docstring).

        :raises SessionTooLargeError: the transaction does not fit in a cookie.
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
            cross_site=cross_site,
        )
        value = self._codec(txn_id).seal(entry.model_dump_json().encode("utf-8"))
        if len(value) > self._budget:
            raise SessionTooLargeError("a login transaction's data does not fit in a flow cookie")
        self._new[txn_id] = (entry, value)
        self._enforce_cap()
        return txn_id

    def consume(self, txn_id: str) -> FlowRecord | None:
        """Return transaction ``txn_id`` and clear its cookie.

        :returns: The record; ``None`` when the id is malformed or unknown,
            the cookie was already consumed, or is expired, tampered,
            renamed or duplicated (its cookie is cleared all the same).
        """
        if not isinstance(txn_id, str) or _TXN_ID.fullmatch(txn_id) is None:
            return None
        fresh = self._new.pop(txn_id, None)
        if fresh is not None:
            return _record(fresh[0])
        if txn_id in self._cleared:
            return None
        if txn_id not in self._present and not (self._overflow and self._find(txn_id)):
            return None
        entry = self._open(txn_id)
        self._cleared[txn_id] = entry is not None and entry.cross_site
        return _record(entry) if entry is not None else None

    def cookies(self) -> tuple[ResponseCookie, ...]:
        """The flow cookies to set (new transactions) and to clear; empty when unchanged."""
        policy = self._policy
        out = [
            policy.flow_cookie(txn_id, value, cross_site=entry.cross_site)
            for txn_id, (entry, value) in self._new.items()
        ]
        out.extend(
            policy.clear(policy.flow_txn_name(txn_id), cross_site=cross_site)
            for txn_id, cross_site in self._cleared.items()
        )
        return tuple(out)

    # -- internals -------------------------------------------------------------

    def _codec(self, txn_id: str) -> SessionCodec:
        return SessionCodec(self._keyring, flow_purpose(self._policy.flow_name, txn_id))

    def _find(self, txn_id: str) -> bool:
        """Search the headers for ``txn_id``'s cookie (more came than were scanned)."""
        try:
            name = self._policy.flow_txn_name(txn_id).encode("ascii")
            found, overflow = find_cookies(self._headers, name, max_suffix=0, limit=1)
        except Exception:  # a hostile header is "not found", never a 500
            return False
        if not found:
            return False
        self._present[txn_id] = None if overflow else found[0][1]
        return True

    def _open(self, txn_id: str) -> FlowEntry | None:
        """The unexpired entry in ``txn_id``'s cookie, or ``None``; decrypts once per request."""
        if txn_id in self._opened:
            return self._opened[txn_id]
        entry: FlowEntry | None = None
        value = self._present.get(txn_id)
        if value is not None and len(value) <= self._budget:
            opened = self._codec(txn_id).open(value)
            if opened is not None:
                try:
                    entry = FlowEntry.model_validate_json(opened[0])
                except (ValidationError, ValueError):
                    entry = None
        if entry is not None and not (
            entry.txn_id == txn_id
            and self._now < entry.expires_at <= self._now + self._lifetime + _CLOCK_SKEW
        ):
            entry = None
        self._opened[txn_id] = entry
        return entry

    def _enforce_cap(self) -> None:
        """Clear the oldest transactions beyond :data:`MAX_FLOWS` (at most that many opened)."""
        live = [txn_id for txn_id in self._present if txn_id not in self._cleared]
        if len(live) + len(self._new) <= MAX_FLOWS:
            return
        for txn_id in live[:-MAX_FLOWS]:  # older than the newest MAX_FLOWS: cleared unread
            self._cleared[txn_id] = False
        dated: list[tuple[float, int, str]] = []
        for position, txn_id in enumerate(live[-MAX_FLOWS:]):
            entry = self._open(txn_id)
            if entry is None:
                self._cleared[txn_id] = False
            else:
                dated.append((entry.expires_at, position, txn_id))
        dated.sort()
        room = max(0, MAX_FLOWS - len(self._new))
        for _, _, txn_id in dated[: max(0, len(dated) - room)]:
            entry = self._opened.get(txn_id)
            self._cleared[txn_id] = entry is not None and entry.cross_site
        while len(self._new) > MAX_FLOWS:
            del self._new[next(iter(self._new))]


def _record(entry: FlowEntry) -> FlowRecord:
    return FlowRecord(txn_id=entry.txn_id, data=dict(entry.data), return_to=entry.return_to)
