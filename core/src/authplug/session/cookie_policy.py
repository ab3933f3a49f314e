"""``CookiePolicy``: the names and attributes of authplug's cookies.

Every cookie authplug writes is ``HttpOnly``, ``SameSite=Lax``, ``Path=/``
and has no ``Domain``. With ``config.secure_cookies`` (the production
default) it is also ``Secure`` and its name carries the ``__Host-`` prefix,
which makes the browser refuse it over plain HTTP, from a sub-domain or with
another path.

One exception, chosen by the operator: with ``config.cookie_domain`` the
session cookie's chunks carry ``Domain=<cookie_domain>`` (sent to that
domain and all its sub-domains). ``__Host-`` forbids ``Domain``, so a secure
session cookie is then named with the ``__Secure-`` prefix (the browser still
refuses it without ``Secure`` or over plain HTTP); deletions carry the same
``Domain``. Flow cookies stay host-only ``__Host-`` cookies: a login starts
and ends on the application's own host.

The session cookie's ``Max-Age`` is the absolute session lifetime (the
payload enforces the idle and absolute limits itself). Each login transaction
has its own flow cookie, ``<flow_name>.<txn_id>`` (see
:mod:`authplug.session.flow`), which lives ``flow_lifetime`` seconds and is
``SameSite=Lax`` by default: most callbacks are top-level GET navigations,
which Lax cookies accompany. A transaction that ends with a cross-site POST
(a SAML HTTP-POST ACS, an OIDC ``response_mode=form_post`` callback) is begun
with ``cross_site=True`` by its provider: its flow cookie is then
``SameSite=None; Secure`` (Secure even in development, since browsers refuse
``SameSite=None`` without it). The session cookie is always ``SameSite=Lax``.

Sizes are counted in bytes of the whole ``Set-Cookie`` header value (name,
``=``, value and attributes), which stays below :data:`MAX_HEADER_VALUE`
(4096) so no browser drops a chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

from authplug.config import AuthplugConfig
from authplug.results import ResponseCookie

__all__ = ["HOST_PREFIX", "MAX_HEADER_VALUE", "SECURE_PREFIX", "CookiePolicy", "flow_base_name"]

HOST_PREFIX = "__Host-"
"""Name prefix of secure cookies: Secure, Path=/, no Domain, enforced by browsers."""

SECURE_PREFIX = "__Secure-"
"""Name prefix of a secure session cookie shared with sub-domains (``cookie_domain``)."""

MAX_HEADER_VALUE = 4096
"""Every ``Set-Cookie`` header value authplug writes is shorter than this."""


def flow_base_name(cookie_name: str) -> str:
    """The flow cookie's name for a session ``cookie_name`` (``x_session`` -> ``x_flow``)."""
    stem = cookie_name.removesuffix("_session") if cookie_name != "_session" else cookie_name
    return f"{stem}_flow"


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """Names, attributes and byte budgets of the session and flow cookies.

    Attributes:
        secure: Whether cookies are ``Secure`` and ``__Host-`` prefixed.
        session_name: Effective base name of the session cookie; chunks are
            ``<session_name>.0``, ``<session_name>.1``, ...
        flow_name: Effective base name of the flow cookies: transaction
            ``txn_id`` is stored in ``<flow_name>.<txn_id>``.
        session_max_age: ``Max-Age`` of session chunks (the absolute lifetime).
        flow_max_age: ``Max-Age`` of the flow cookies.
        max_chunks: Most chunks one session may use.
        session_domain: ``Domain`` of the session chunks (``cookie_domain``);
            ``None``: host-only.
        header_limit: Every ``Set-Cookie`` value stays shorter than this
            (:data:`MAX_HEADER_VALUE`). Not configurable: tests raise it to
            show what a browser does with an oversized chunk (drops it).
    """

    secure: bool
    session_name: str
    flow_name: str
    session_max_age: int
    flow_max_age: int
    max_chunks: int
    session_domain: str | None = None
    header_limit: int = MAX_HEADER_VALUE

    @classmethod
    def from_config(cls, config: AuthplugConfig) -> CookiePolicy:
        """The policy ``config`` asks for."""
        secure = config.secure_cookies
        prefix = HOST_PREFIX if secure else ""
        domain = config.cookie_domain
        session_prefix = (SECURE_PREFIX if domain is not None else HOST_PREFIX) if secure else ""
        return cls(
            secure=secure,
            session_name=session_prefix + config.cookie_name,
            flow_name=prefix + flow_base_name(config.cookie_name),
            session_max_age=config.absolute_lifetime,
            flow_max_age=config.flow_lifetime,
            max_chunks=config.max_cookie_chunks,
            session_domain=domain,
        )

    def chunk_name(self, index: int) -> str:
        """The name of session chunk ``index``."""
        return f"{self.session_name}.{index}"

    def session_cookie(self, index: int, value: str) -> ResponseCookie:
        """The ``Set-Cookie`` for session chunk ``index``."""
        return ResponseCookie(
            name=self.chunk_name(index),
            value=value,
            max_age=self.session_max_age,
            path="/",
            secure=self.secure,
            http_only=True,
            same_site="lax",
            domain=self.session_domain,
        )

    def clear_chunk(self, index: int) -> ResponseCookie:
        """A cookie deleting session chunk ``index`` (with its ``Domain``, if any)."""
        return ResponseCookie.clear(
            self.chunk_name(index), path="/", secure=self.secure, domain=self.session_domain
        )

    def flow_txn_name(self, txn_id: str) -> str:
        """The name of the flow cookie holding transaction ``txn_id``."""
        return f"{self.flow_name}.{txn_id}"

    def flow_cookie(self, txn_id: str, value: str, *, cross_site: bool = False) -> ResponseCookie:
        """The ``Set-Cookie`` for the flow cookie of transaction ``txn_id``.

        :param cross_site: ``SameSite=None; Secure`` (always ``Secure``, even in
            development: browsers refuse ``SameSite=None`` without it), for a
            transaction that ends with a cross-site POST. Otherwise
            ``SameSite=Lax`` and ``Secure`` per :attr:`secure`.
        """
        return ResponseCookie(
            name=self.flow_txn_name(txn_id),
            value=value,
            max_age=self.flow_max_age,
            path="/",
            secure=self.secure or cross_site,
            http_only=True,
            same_site="none" if cross_site else "lax",
        )

    def clear(self, name: str, *, cross_site: bool = False) -> ResponseCookie:
        """A cookie deleting ``name`` with the attributes it was set with.

        :param cross_site: ``name`` was set in the cross-site mode
            (:meth:`flow_cookie`): the deletion is ``Secure`` and
            ``SameSite=None`` too.
        """
        if cross_site:
            return ResponseCookie(
                name=name, value="", max_age=0, path="/", secure=True, same_site="none"
            )
        return ResponseCookie.clear(name, path="/", secure=self.secure)

    def chunk_value_budget(self, index: int) -> int:
        """Most value bytes chunk ``index`` may hold (header value stays < 4096)."""
        overhead = len(self.session_cookie(index, "").header_value())
        return self.header_limit - 1 - overhead

    def flow_value_budget(self, txn_id_length: int) -> int:
        """Most value bytes a flow cookie may hold (header value stays < 4096).

        :param txn_id_length: Length of the transaction ids in the names.
        """
        overhead = max(
            len(self.flow_cookie("x" * txn_id_length, "", cross_site=mode).header_value())
            for mode in (False, True)
        )
        return self.header_limit - 1 - overhead
