"""The mock provider's endpoint: ``GET /auth/mock/login``.

A provider's endpoints (login pages, OAuth callbacks, SAML ACS) are
:class:`~authplug.routes.Route` objects under ``/auth/``, returned from
``routes()``. A handler takes the framework-neutral
:class:`~authplug.request.AuthRequest` and returns one of the results:

* :class:`~authplug.results.Authenticated`: the host opens the session and
  sends the browser back to the ``return_to`` it captured when login began
  (so a handler never reads or trusts a redirect target from the request);
  the handler finds that transaction with ``request.flow.consume(txn)``, as
  an OAuth callback would with its ``state``;
* :class:`~authplug.results.ProviderResponse`: a page to render as is.

Login by ``GET`` link keeps the mock trivial to drive from a browser, curl or
a test. It also means any page can log a visitor in as any configured user
(login CSRF), which is one more reason the mock is development only.

Both the page and the login links answer only clients on this machine unless
``[mock] allow_remote = true`` (:mod:`authplug_mock.client_check`); anyone
else gets a 403 page saying why.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from authplug.request import AuthRequest
from authplug.results import Authenticated, AuthenticateResult
from authplug.routes import Route
from authplug_mock.client_check import judge_client
from authplug_mock.login_page import LOGIN_PATH, login_page, refused_page, unknown_user_page
from authplug_mock.settings import MockSettings
from authplug_mock.tokens import issue_tokens
from authplug_mock.users import to_session_user

__all__ = ["login", "mock_routes"]

_log = logging.getLogger("authplug_mock")


def login(settings: MockSettings, request: AuthRequest) -> AuthenticateResult:
    """Show the user picker, or log in the user named by ``?user=<id>``.

    :return: the login page without ``user``; :class:`Authenticated` with
        fresh tokens for a configured user; a 404 page for any other id; a
        403 page for a client that is not on this machine (unless
        ``allow_remote``).
    """
    verdict = judge_client(
        request, allow_remote=settings.allow_remote, trusted_proxies=settings.trusted_proxies
    )
    if not verdict.allowed:
        _log.warning("mock login refused: %s", verdict.reason)
        return refused_page(verdict.reason)
    user_id = request.query.get("user")
    txn = request.query.get("txn") or None
    if user_id is None:
        return login_page(settings.users, txn, allow_remote=settings.allow_remote)
    user = settings.find_user(user_id)
    if user is None:
        return unknown_user_page()
    if txn is not None and request.flow is not None:
        # Completes the transaction ``authenticate`` began: the host then sends
        # the browser back to the page it was on. Unknown or expired: no
        # return_to, the default page.
        request.flow.consume(txn)
    now = int(time.time())
    auth_data = issue_tokens(
        now=now,
        token_lifetime=settings.token_lifetime,
        refresh_expires_at=now + settings.refresh_token_lifetime,
    )
    return Authenticated(user=to_session_user(user, auth_data))


def mock_routes(settings: MockSettings) -> tuple[Route, ...]:
    """The mock provider's routes, bound to ``settings``."""
    return (Route(path=LOGIN_PATH, handler=partial(login, settings)),)
