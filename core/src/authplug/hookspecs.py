"""Hook specifications: the contract between authplug and its plugins.

Two kinds of hooks, grouped by lifecycle phase:

* **Provider hooks** (``authplug_authenticate``, ``authplug_validate``,
  ``authplug_refresh``, ``authplug_routes``) are implemented by exactly one
  registered plugin, the configured provider. They are ``firstresult``.
  Extension plugins that implement them are refused at load time, so no
  extension can answer an authentication decision.
* **Extension hooks** (user mapping, login and logout events) may be
  implemented by every registered plugin; all implementations run.

Any hook implementation may be a plain function or ``async def``; the host
awaits awaitable results. Each docstring below is the plugin author's
reference: what the hook is for, each parameter, what to return, and whether
the call stops at the first non-``None`` result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from authplug.models import AnyUser, UserType
    from authplug.request import AuthRequest, HeaderLookup
    from authplug.results import AuthenticateResult, Redirect, Remembered
    from authplug.routes import Route

__all__ = ["PROJECT_NAME", "PROVIDER_HOOKS", "REQUIRED_PROVIDER_HOOKS", "hookimpl", "hookspec"]

PROJECT_NAME = "authplug"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

PROVIDER_HOOKS = frozenset(
    {
        "authplug_authenticate",
        "authplug_validate",
        "authplug_refresh",
        "authplug_routes",
        "authplug_logout",
        "authplug_check",
        "authplug_challenge",
        "authplug_authenticate_fast",
    }
)
"""Hooks only the configured provider may implement."""

REQUIRED_PROVIDER_HOOKS = frozenset(
    {"authplug_authenticate", "authplug_validate", "authplug_refresh"}
)
"""Hooks every provider must implement; a provider missing one is refused at load."""


# --- Provider hooks: authentication -----------------------------------------


@hookspec(firstresult=True)
def authplug_authenticate(
    request: AuthRequest,
) -> AuthenticateResult | Awaitable[AuthenticateResult]:
    """Authenticate a request that carries no valid session.

    Called by the host for a protected path when no session cookie yields a
    user (browser providers), or on every request for stateless providers
    such as bearer JWT. The core's sign-in entry point
    (``/auth/login?return_to=...``, :mod:`authplug.signin`) calls it the same
    way for a browser without a session.

    Browser providers start a login transaction with
    ``request.flow.begin(data)``; the host has already stored the checked
    ``return_to`` in it. A login whose callback is a cross-site POST (SAML
    HTTP-POST ACS, OIDC ``form_post``) begins it with ``cross_site=True``
    (a ``SameSite=None; Secure`` flow cookie), and raises
    :func:`authplug.cross_site.missing_transaction_error` when the callback
    finds no transaction.

    :param request: The request, framework-neutral.
    :return: :class:`~authplug.results.Authenticated` with the user;
        :class:`~authplug.results.Redirect` to start a login (the host turns
        it into 401 JSON for API clients); or a
        :class:`~authplug.results.ProviderResponse` to render.
    :raises NotAuthenticatedError: the credential presented is invalid.
    :raises ProviderUnavailableError: the identity provider is unreachable.

    Stops at the first non-``None`` result. Implemented by the provider only.
    """


@hookspec(firstresult=True)
def authplug_authenticate_fast(header: HeaderLookup) -> AnyUser | Remembered | None:
    """Authenticate a request synchronously, from what the provider already holds.

    The fast path of stateless providers, as sessions have theirs. For a
    provider with ``stateless = True``, the host calls this first on every
    protected request, before it builds an :class:`~authplug.request.AuthRequest`
    or a coroutine. Answer only from memory: a verified-token cache hit, a
    token whose signature can be checked with a key already held. Never do
    I/O here (no JWKS fetch, no database); never block.

    Checked at start-up: the implementation must be a plain function (not
    ``async def``) taking exactly ``header``. Not called for providers that
    keep sessions, when extension plugins map users, or with debug tracing on
    (those take the full path).

    :param header: The request's headers: ``header("authorization")`` is the
        first such header, decoded as latin-1, or ``None``.
    :return: The user, when certain; or the user wrapped in
        :class:`~authplug.results.Remembered` when the answer depends only on
        the values of the headers read through ``header`` and holds until a
        known moment (a verified token: until its ``exp``): the host then
        answers requests with exactly those header values from memory until
        then, without calling this hook. ``None`` for anything else (no
        credential, a rejected one, a key that must be fetched): the host
        then calls ``authplug_authenticate``, which decides and answers
        (a rejected credential is thus checked twice; only failures pay it).
        Raising is a bug: it is logged with its traceback and the full path
        decides.

    Stops at the first non-``None`` result. Optional; implemented by the
    provider only.
    """


@hookspec(firstresult=True)
def authplug_validate(
    request: AuthRequest,
    user: AnyUser,
) -> AnyUser | Awaitable[AnyUser | None] | None:
    """Check that a session's user is still valid.

    Called only when ``validate_interval`` has passed since the last check or
    the user's tokens are close to expiry, never on every request.

    :param request: The request that carried the session.
    :param user: The user from the session cookie, with ``auth_data``.
    :return: ``None`` when the session is still valid as it is; an updated
        user (new tokens, new roles) to re-seal into the cookie and the store.
    :raises ForceUserToReauthenticateError: the session is over; the host
        clears it and sends the user to login.

    Stops at the first non-``None`` result. Implemented by the provider only.
    """


@hookspec(firstresult=True)
def authplug_refresh(
    user: AnyUser,
) -> AnyUser | Awaitable[AnyUser]:
    """Obtain fresh tokens for ``user``.

    Called when the user's tokens have expired or are about to. The host runs
    at most one refresh per session at a time (single-flight): concurrent
    requests wait for the same result.

    :param user: The user whose ``auth_data`` holds the refresh credential.
    :return: The user with new ``auth_data``.
    :raises ForceUserToReauthenticateError: refresh is impossible (no refresh
        token, revoked, or a stateless provider).

    Stops at the first non-``None`` result. Implemented by the provider only.
    """


@hookspec(firstresult=True)
def authplug_routes() -> Sequence[Route]:
    """Declare the provider's own endpoints under ``/auth/``.

    Called once at start-up. Login pages, OAuth callbacks, SAML ACS and
    metadata, provider logout: each a :class:`~authplug.routes.Route`.
    The host never redirects ``/auth/*`` requests to login.
    ``/auth/logout`` and ``/auth/login`` belong to the core and are answered
    before provider routes.

    :return: The provider's routes (may be empty).

    Stops at the first non-``None`` result. Implemented by the provider only.
    """


@hookspec(firstresult=True)
def authplug_logout(
    request: AuthRequest,
    user: AnyUser | None,
) -> Redirect | Awaitable[Redirect | None] | None:
    """End the user's session at the identity provider, when it has one.

    Called by the host's ``/auth/logout`` after the local session cookies are
    cleared (RP-initiated logout, SAML single logout).

    :param request: The confirmed (POST) logout request.
    :param user: The user whose session ended, with ``auth_data`` (for an
        ``id_token_hint``), or ``None`` when there was no session.
    :return: A :class:`~authplug.results.Redirect` to the IdP's logout
        endpoint, or ``None`` to land on the application's default page.

    Stops at the first non-``None`` result. Optional; implemented by the
    provider only.
    """


# --- Provider hooks: declarations and start-up checks -----------------------


@hookspec(firstresult=True)
def authplug_challenge() -> str | None:
    """Declare the ``WWW-Authenticate`` challenge of this provider's 401 answers.

    Called once at start-up. A provider whose API clients authenticate with a
    scheme of their own declares it here (``Bearer``, ``Bearer
    realm="api"``, ``Proxy realm="corp"``); the host sends it with every 401
    it gives an API client, unless the error raised carries its own
    ``www_authenticate`` (which wins, in any scheme). ``None``: no challenge
    (browser providers redirect instead). A value with control characters
    fails the start-up.

    :return: The challenge, or ``None``.

    Stops at the first non-``None`` result. Optional; implemented by the
    provider only.
    """


@hookspec(firstresult=True)
def authplug_check() -> Sequence[str] | Awaitable[Sequence[str]]:
    """Report what would keep the provider from working, for ``authplug check``.

    Called only by ``authplug check``, never while serving requests. Reach
    the identity provider (discovery document, JWKS, metadata) and describe
    each problem in one sentence that names the IdP and never a secret.

    :return: The problems found; an empty sequence when ready.
    :raises ProviderUnavailableError: the IdP cannot be reached (reported as
        a problem).

    Stops at the first non-``None`` result. Optional; implemented by the
    provider only.
    """


# --- Extension hooks: user mapping ------------------------------------------


@hookspec
def authplug_user_type(
    user: AnyUser,
) -> UserType | Awaitable[UserType | None] | None:
    """Decide the user type of a user who just logged in or was re-validated.

    :param user: The user as the provider produced it.
    :return: ``"internal-user"``, ``"external-user"``, or ``None`` to
        abstain. When implementations disagree the least privileged answer,
        ``"external-user"``, wins.

    All implementations are called. Implemented by extension plugins.
    """


@hookspec
def authplug_extra_roles(
    user: AnyUser,
) -> Iterable[str] | Awaitable[Iterable[str] | None] | None:
    """Add roles to a user who just logged in or was re-validated.

    Use it to map IdP groups to application roles such as
    ``pika:content-admin``.

    :param user: The user as the provider produced it (after user-type mapping).
    :return: Role names to add, or ``None``. Every answer is added; roles are
        never removed by this hook.

    All implementations are called. Implemented by extension plugins.
    """


# --- Extension hooks: events -------------------------------------------------


@hookspec
def authplug_logged_in(
    request: AuthRequest,
    user: AnyUser,
) -> Awaitable[None] | None:
    """React to a login, after the session was created and the user saved.

    :param request: The request that completed the login.
    :param user: The user who logged in (treat ``auth_data`` as secret).
    :return: Nothing. An exception is logged and does not undo the login.

    All implementations are called. Implemented by extension plugins (audit,
    analytics).
    """


@hookspec
def authplug_logged_out(
    request: AuthRequest,
    user: AnyUser | None,
) -> Awaitable[None] | None:
    """React to a logout, after the session cookies were cleared.

    :param request: The logout request.
    :param user: The user whose session ended, or ``None`` when the session
        was already gone.
    :return: Nothing. An exception is logged and does not undo the logout.

    All implementations are called. Implemented by extension plugins.
    """
