"""The core-owned sign-in entry point: ``GET /auth/login?return_to=/path``.

A public page's "Sign in" button links here. For every provider that sends
the browser somewhere to log in (OAuth/OIDC, SAML, the mock's login page) it
starts exactly the login transaction a protected request without a session
starts: a flow transaction holding ``return_to``, then the provider's
``authplug_authenticate`` (its redirect to the IdP, or its login page). After
the login the browser lands on ``return_to``.

Rules:

* ``return_to`` is checked exactly as every other ``return_to``
  (:func:`authplug.return_to.safe_return_to`: a same-origin path, mount
  prefix included); anything else, a missing value, or a path under
  ``/auth/`` (which could only lead back here) means ``default_redirect``.
* A browser that already has a valid session is sent straight to
  ``return_to``; no new login starts. Together with the ``/auth/`` rule this
  means the entry point never loops.
* API clients (``Accept: application/json``, XHR, bearer) get a 401 JSON
  answer: there is no page to sign in on. Nothing is begun for them.
* Only ``GET`` and ``HEAD``; other methods get 405.
* Stateless (bearer-token) providers have no sign-in page: 404.
* A provider whose ``authplug_authenticate`` redirects back to this entry
  point is a bug: a 500 (logged), never a redirect loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authplug.errors import AuthplugError, NotAuthenticatedError
from authplug.models import AuthenticatedUser
from authplug.request import AuthRequest
from authplug.responses import (
    Respond,
    app_location,
    merge_cookies,
    provider_response,
    redirect,
)
from authplug.results import Authenticated, Redirect, ResponseCookie
from authplug.return_to import safe_return_to

if TYPE_CHECKING:
    from authplug.hookcalls import HookCalls
    from authplug.host import Host
    from authplug.session.payload import SessionData

__all__ = ["RETURN_TO_PARAM", "SIGN_IN_PATH", "LoginStarter", "SignIn", "sign_in_return_to"]

SIGN_IN_PATH = "/auth/login"
"""The core-owned sign-in entry point (``GET /auth/login?return_to=/path``)."""

RETURN_TO_PARAM = "return_to"
"""The query parameter naming where the browser lands after signing in."""

_AUTH_PREFIX = "/auth/"

LoginStarter = Callable[
    [AuthRequest, AuthenticatedUser[Any, Any], int, "SessionData | None"],
    Awaitable[tuple[Any, tuple[ResponseCookie, ...]]],
]
"""Opens a session for a user (the lifecycle's login step): returns (session, cookies)."""


def sign_in_return_to(request: AuthRequest) -> str | None:
    """The request's ``return_to`` parameter when it is a safe target, else ``None``.

    Safe: :func:`~authplug.return_to.safe_return_to` accepts it, and inside
    the application (after the mount prefix) it is not under ``/auth/``.
    """
    candidate = safe_return_to(request.query.get(RETURN_TO_PARAM))
    if candidate is None:
        return None
    inside = candidate
    root = request.root_path
    if root:
        if not (candidate == root or candidate.startswith((root + "/", root + "?"))):
            return None
        inside = candidate[len(root) :] or "/"
    path = urlsplit(inside).path
    if path == "/auth" or path.startswith(_AUTH_PREFIX):
        return None
    return candidate


class SignIn:
    """The ``/auth/login`` route, driven by the lifecycle.

    :param host: The host: sessions, error answers, revocation,
        ``default_redirect`` and whether the provider is stateless.
    :param hooks: The host's hook calls as this host kind resolves them.
    :param login: Opens a session when the provider answers ``Authenticated``.
    """

    __slots__ = (
        "_default",
        "_hooks",
        "_is_revoked",
        "_login",
        "_responses",
        "_sessions",
        "_stateless",
    )

    def __init__(self, host: Host, hooks: HookCalls, login: LoginStarter) -> None:
        self._sessions = host.sessions
        self._hooks = hooks
        self._responses = host.responses
        self._is_revoked = host.revocation.revoked.is_revoked
        self._login = login
        self._default = host.config.default_redirect
        self._stateless = host.stateless

    async def handle(self, request: AuthRequest, now: float) -> Respond:
        """Answer ``/auth/login`` (see the module docstring). Raises only authplug errors.

        :param request: The request.
        :param now: The current time, epoch seconds.
        """
        if request.method not in ("GET", "HEAD"):
            return self._responses.method_not_allowed(
                request, "GET, HEAD", "Follow a sign-in link to sign in."
            )
        if self._stateless:
            return self._responses.status(
                request,
                404,
                "not_found",
                "Not found",
                "This application has no sign-in page: it accepts bearer tokens.",
            )
        if request.wants_json:
            return self._responses.not_authenticated_json(request, ())
        return_to = sign_in_return_to(request)
        landing = return_to or app_location(request.root_path, self._default)
        read = self._sessions.read(request.headers, now)
        session = read.session
        if session is not None and not self._is_revoked(session.sid, now):
            return redirect(landing, ())
        flow = self._sessions.open_flow(request.headers, now)
        flow.set_return_to(return_to)
        request.flow = flow
        try:
            result = await self._hooks.authenticate(request)
        except NotAuthenticatedError as exc:
            return self._responses.unauthenticated(
                request, exc, merge_cookies(read.clear, flow.cookies())
            )
        except AuthplugError as exc:
            return self._responses.error(request, exc, merge_cookies(read.clear, flow.cookies()))
        if isinstance(result, Authenticated):
            _session, login_cookies = await self._login(
                request, result.user, read.chunk_count, None
            )
            cookies: Sequence[ResponseCookie] = merge_cookies(
                read.clear, result.cookies, login_cookies, flow.cookies()
            )
            return redirect(landing, cookies)
        out = merge_cookies(read.clear, result.cookies, flow.cookies())
        if isinstance(result, Redirect):
            if urlsplit(result.location).path in (SIGN_IN_PATH, request.root_path + SIGN_IN_PATH):
                raise AuthplugError(
                    "the provider's authenticate redirected to the sign-in entry point",
                    code="sign_in_loop",
                )
            return redirect(app_location(request.root_path, result.location), out, result.status)
        return provider_response(result, out)
