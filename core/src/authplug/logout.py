"""The core-owned ``/auth/logout`` route and its anti-CSRF token.

* ``GET /auth/logout`` shows a confirmation form carrying a token; it never
  logs anyone out, so a cross-site ``<img src=/auth/logout>`` does nothing
  (SECURITY.md A.16).
* ``POST /auth/logout`` with the form's token ends the session: the session id
  is revoked server-side (store first, then this process, see
  :mod:`authplug.revocation`), every session chunk and the flow cookie are
  cleared, ``authplug_logged_out`` fires and the provider's
  ``authplug_logout`` may redirect to the IdP's end-session endpoint.

The token (:class:`LogoutTokens`) is an HMAC-SHA256 of the session id under
keys derived once, at start-up, from the cookie keys: no server state, bound
to one session, and still valid across a key rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authplug.config import decode_cookie_key
from authplug.errors import AuthplugError
from authplug.request import AuthRequest
from authplug.responses import (
    Respond,
    app_location,
    html_response,
    merge_cookies,
    page,
    redirect,
)
from authplug.stores.calls import StoreCalls

if TYPE_CHECKING:
    from authplug.hookcalls import HookCalls
    from authplug.host import Host
    from authplug.lifecycle import Runtime

__all__ = ["CSRF_FIELD", "LOGOUT_PATH", "Logout", "LogoutTokens"]

LOGOUT_PATH = "/auth/logout"
"""The core-owned logout route (GET: confirmation form; POST: log out)."""

CSRF_FIELD = "csrf_token"
"""The logout form's token field."""

_log = logging.getLogger("authplug.lifecycle")


class LogoutTokens:
    """Anti-CSRF tokens for the logout form: HMAC-SHA256 of the session id.

    Keys are derived once (HKDF) from every configured cookie key, so a token
    minted before a key rotation still verifies; without configured keys
    (development) one random key per process is used.

    :param cookie_keys: The configured cookie keys (text, newest first);
        undecodable ones are skipped.
    """

    __slots__ = ("_keys",)

    def __init__(self, cookie_keys: Sequence[str]) -> None:
        keys = []
        for text in cookie_keys:
            try:
                material = decode_cookie_key(text)
            except ValueError:
                continue
            keys.append(
                HKDF(
                    algorithm=hashes.SHA256(),
                    length=32,
                    salt=None,
                    info=b"authplug logout csrf v1",
                ).derive(material)
            )
        self._keys: tuple[bytes, ...] = tuple(keys) or (os.urandom(32),)

    @staticmethod
    def _mac(key: bytes, sid: str) -> str:
        digest = hmac.new(key, b"logout\x00" + sid.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def token(self, sid: str) -> str:
        """The token for session ``sid`` (newest key)."""
        return self._mac(self._keys[0], sid)

    def verify(self, sid: str, token: str) -> bool:
        """Whether ``token`` was minted for ``sid`` under any key (constant time)."""
        supplied = token.encode("utf-8", "replace")
        return any(
            hmac.compare_digest(self._mac(key, sid).encode("ascii"), supplied) for key in self._keys
        )


class Logout:
    """The ``/auth/logout`` route, driven by the lifecycle.

    :param host: The host: sessions, revocation, error answers, logout
        tokens, tracer and ``default_redirect`` (process-wide state).
    :param hooks: The host's hook calls as this host kind resolves them.
    :param runtime: How this host kind runs blocking store calls.
    """

    __slots__ = (
        "_default",
        "_hooks",
        "_responses",
        "_revocation",
        "_sessions",
        "_store_calls",
        "_tracer",
        "tokens",
    )

    def __init__(self, host: Host, hooks: HookCalls, runtime: Runtime) -> None:
        self._sessions = host.sessions
        self._hooks = hooks
        self._revocation = host.revocation
        self._store_calls = StoreCalls(
            host.store, runtime.run_blocking, event_loop=runtime.event_loop
        )
        self._responses = host.responses
        self.tokens = host.logout_tokens
        self._default = host.config.default_redirect
        self._tracer = host.tracer

    async def handle(self, request: AuthRequest, now: float) -> Respond:
        """GET: a confirmation form. POST with a valid token: end the session.

        A session already revoked (a replayed cookie; on POST, in the store too,
        since logout is rare) counts as no session: the cookies are cleared and
        no hook fires again.

        :param request: The ``/auth/logout`` request (body read).
        :param now: The current time, epoch seconds.
        :raises StoreError: the revocation could not be recorded (the caller
            answers 503; the session and its cookies are left as they were,
            so the user can try again).
        """
        if request.method not in ("GET", "POST"):
            allow, text = "GET, POST", "Use the sign-out form."
            return self._responses.method_not_allowed(request, allow, text)
        read = self._sessions.read(request.headers, now)
        flows = self._sessions.flow_cookie_names(request.headers)
        session = read.session
        clear = read.clear
        if session is not None and self._revocation.is_revoked(session, now):
            session, clear = None, self._sessions.clear(read.chunk_count, flows)
        home = app_location(request.root_path, self._default)
        if request.method == "GET":
            if session is None:
                body = page(
                    "Signed out",
                    "You are not signed in.",
                    f'<p><a href="{html.escape(home)}">Continue</a></p>',
                )
                return html_response(200, body, clear)
            token = self.tokens.token(session.sid)
            action = html.escape(app_location(request.root_path, LOGOUT_PATH))
            form = (
                f'<form method="post" action="{action}">'
                f'<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(token)}">'
                '<button type="submit">Sign out</button></form>'
            )
            return html_response(200, page("Sign out", "Do you want to sign out?", form))
        if session is None:
            return redirect(home, self._sessions.clear(read.chunk_count, flows), status=303)
        supplied = request.form.get(CSRF_FIELD, "")
        if not supplied or not self.tokens.verify(session.sid, supplied):
            self._tracer.step("logout", outcome="refused", reason="bad csrf token")
            return self._responses.status(
                request,
                403,
                "csrf_failed",
                "Sign-out refused",
                "The sign-out form expired or came from another site. Please try again.",
            )
        cleared = self._sessions.clear(read.chunk_count, flows)
        revocation, calls = self._revocation, self._store_calls
        if await revocation.check_store_via(calls, session, now):
            return redirect(home, cleared, status=303)  # ended by another process already
        await revocation.revoke_via(calls, session, now)
        user = session.user
        await self._hooks.logged_out(request, user)
        try:
            to_idp = await self._hooks.logout(request, user)
        except AuthplugError as exc:
            _log.warning("authplug_logout failed (%s); signed out locally only", exc.code)
            to_idp = None
        self._tracer.step("logout", outcome="done", user=user)
        if to_idp is not None:
            return redirect(
                app_location(request.root_path, to_idp.location),
                merge_cookies(cleared, to_idp.cookies),
                to_idp.status,
            )
        return redirect(home, cleared, status=303)
