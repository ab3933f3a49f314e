"""``HeaderProvider``: the user a trusted reverse proxy vouches for, on every request.

An authenticating reverse proxy (oauth2-proxy, Pomerium, a cloud
identity-aware proxy) logs the user in and forwards each request with
identity headers (``X-Forwarded-User``, ``X-Forwarded-Email``,
``X-Forwarded-Groups``). Anyone can *send* those headers, so they are
believed only when the TCP peer is one of ``trusted_proxies`` and, when
configured, the request carries the proxy's shared secret (compared in
constant time). Headers from anywhere else are ignored and logged.

The provider is stateless: the proxy asserts identity on every request, so
the host keeps no session cookie and a user the proxy stops vouching for is
out on their next request.

Header values are bytes on the wire and reach providers decoded as latin-1
(:meth:`authplug.AuthRequest.header`); proxies send UTF-8, so each value is
re-decoded as UTF-8 (``José``), and a value that is not UTF-8 is refused.
"""

from __future__ import annotations

import hmac
import logging
from ipaddress import ip_address

from authplug import AuthenticatedUser, AuthProvider, StrMap
from authplug.errors import NotAuthenticatedError
from authplug.request import AuthRequest
from authplug.results import Authenticated
from authplug_header.settings import HeaderSettings

__all__ = ["HeaderProvider"]

logger = logging.getLogger("authplug_header")
User = AuthenticatedUser[StrMap, StrMap]


def _utf8(value: str | None) -> str | None:
    """A header value (latin-1 decoded by the core) as the UTF-8 text the proxy sent."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8").strip()
    except UnicodeError:
        raise NotAuthenticatedError(
            "an identity header is not valid UTF-8", code="invalid_identity"
        ) from None


class HeaderProvider(AuthProvider[HeaderSettings, StrMap, StrMap]):
    """Trust identity headers from configured proxy networks only."""

    stateless = True

    def _from_trusted_proxy(self, request: AuthRequest) -> bool:
        if request.client is None:
            return False
        try:
            peer = ip_address(request.client)
        except ValueError:
            return False
        return any(peer in network for network in self.settings.trusted_proxies)

    def _secret_ok(self, request: AuthRequest) -> bool:
        header, secret = self.settings.shared_secret_header, self.settings.shared_secret
        if header is None or secret is None:
            return True
        presented = (request.header(header) or "").encode("latin-1")
        return hmac.compare_digest(presented, secret.get_secret_value().encode("utf-8"))

    def authenticate(self, request: AuthRequest) -> Authenticated:
        """The user named by the proxy's headers.

        :raises NotAuthenticatedError: the request is not from a trusted
            proxy, lacks or has a wrong shared secret, or names no user.
        """
        settings = self.settings
        asserted = request.header(settings.user_header) is not None
        if not self._from_trusted_proxy(request):
            if asserted:
                logger.warning(
                    "ignored %s from %s: not a trusted proxy (trusted_proxies)",
                    settings.user_header,
                    request.client or "an unknown address",
                )
            raise NotAuthenticatedError("no identity from a trusted proxy", code="untrusted_source")
        if not self._secret_ok(request):
            logger.warning(
                "ignored identity headers from %s: missing or wrong %s",
                request.client,
                settings.shared_secret_header,
            )
            raise NotAuthenticatedError(
                "the proxy's shared secret is missing or wrong", code="invalid_proxy_secret"
            )
        user_id = _utf8(request.header(settings.user_header))
        if not user_id:
            raise NotAuthenticatedError("the proxy named no user", code="no_identity")
        return Authenticated(user=self._user(request, user_id))

    def _user(self, request: AuthRequest, user_id: str) -> User:
        settings = self.settings
        email = _utf8(request.header(settings.email_header)) if settings.email_header else None
        name = _utf8(request.header(settings.name_header)) if settings.name_header else None
        groups_value = (
            _utf8(request.header(settings.groups_header)) if settings.groups_header else None
        )
        groups = [g.strip() for g in (groups_value or "").split(settings.groups_separator)]
        domain = email.rpartition("@")[2].lower() if email and "@" in email else None
        internal = domain is not None and domain in settings.internal_email_domains
        custom: dict[str, str] = {"email": email} if email else {}
        return User(
            user_id=user_id,
            first_name=name or "",
            user_type="internal-user" if internal else "external-user",
            roles=tuple(dict.fromkeys(g for g in groups if g)),
            custom_data=custom or None,
        )
