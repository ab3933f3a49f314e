"""The typed errors authplug raises.

Every error a provider, the loader or the host raises derives from
:class:`AuthplugError`. Messages are written for operators and end users: they
never contain a token, a cookie value, a key or any other secret, so they are
safe to log and to show. Plugins map their library's exceptions (httpx, jose,
saml2) onto these classes at their boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from authplug.host import PluginInfo

__all__ = [
    "AccessDeniedError",
    "AuthplugError",
    "ConfigError",
    "ForceUserToReauthenticateError",
    "NotAuthenticatedError",
    "PluginLoadError",
    "ProviderError",
    "ProviderUnavailableError",
    "SessionTooLargeError",
]


class AuthplugError(Exception):
    """Base class of every error authplug raises on purpose.

    ``code`` is a short, stable, machine-readable reason (``"token_expired"``,
    ``"config_invalid"``) used in JSON error bodies and logs; ``status`` is the
    HTTP status a host answers with when the error reaches it.

    ``www_authenticate`` is the challenge a host sends with a 401 caused by
    this error, in any scheme (``Bearer error="invalid_token"``,
    ``Proxy realm="corp"``, ``Basic realm="api"``); ``None`` lets the host
    use the provider's declared challenge. It must not contain request data.
    """

    code: str = "authplug_error"
    status: int = 500
    www_authenticate: str | None = None

    def __init__(
        self, message: str, *, code: str | None = None, www_authenticate: str | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if www_authenticate is not None:
            self.www_authenticate = www_authenticate

    @property
    def message(self) -> str:
        """The human-readable message, free of secrets."""
        return str(self.args[0]) if self.args else self.code


class NotAuthenticatedError(AuthplugError):
    """The request carries no acceptable credentials.

    Raised by providers when a credential is missing, malformed, expired or
    fails verification. ``code`` names the reason (``"invalid_token"``,
    ``"token_expired"``, ...); nothing from the rejected credential is echoed.
    Hosts answer browsers with a login redirect and API clients with 401 JSON,
    carrying ``www_authenticate`` (see :class:`AuthplugError`) when set.
    """

    code = "not_authenticated"
    status = 401


class ForceUserToReauthenticateError(AuthplugError):
    """The user's session is over and cannot be refreshed.

    Raised by ``authplug_validate`` or ``authplug_refresh`` (refresh token
    revoked or expired, account disabled). The host clears the session and
    sends the browser back to login, or answers an API client with 401.
    """

    code = "reauthentication_required"
    status = 401


class ProviderError(AuthplugError):
    """A provider or plugin broke the contract: it raised an unexpected exception
    or returned something of the wrong type.

    This is a bug in the plugin, never a bad credential: hosts answer 500 with
    a short correlation id and log the traceback (redacted) at ERROR on the
    ``authplug`` logger. The original exception is the ``__cause__``.

    ``hook`` names the hook or route that failed (``"authplug_authenticate"``,
    ``"route /auth/acme/callback"``).
    """

    code = "provider_error"
    status = 500

    def __init__(self, message: str, *, hook: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.hook = hook


class AccessDeniedError(AuthplugError):
    """The user is authenticated but not allowed to see the resource (403)."""

    code = "access_denied"
    status = 403


class ProviderUnavailableError(AuthplugError):
    """The identity provider could not be reached or answered unusably.

    ``provider`` names it (the configured provider name or the IdP's host),
    so the 503 the host answers with tells the operator where to look.
    """

    code = "provider_unavailable"
    status = 503

    def __init__(self, message: str, *, provider: str, code: str | None = None) -> None:
        super().__init__(f"identity provider {provider!r} is unavailable: {message}", code=code)
        self.provider = provider


class SessionTooLargeError(AuthplugError):
    """The session would need more cookie chunks than configured.

    Raised at login rather than writing cookies a browser would silently drop.
    """

    code = "session_too_large"
    status = 500


class ConfigError(AuthplugError):
    """Configuration is invalid; raised at start-up, never at first login.

    ``problems`` lists every problem found, each as ``"<field path>: <what is
    wrong>"``. Values of secret fields are never included.
    """

    code = "config_invalid"
    status = 500

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        if len(self.problems) == 1:
            text = f"invalid authplug configuration: {self.problems[0]}"
        else:
            text = "invalid authplug configuration:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(text)


class PluginLoadError(AuthplugError):
    """A plugin could not be loaded: unknown, broken, incompatible or invalid.

    ``plugin`` names the entry point and the installed distribution that
    provides it (``None`` when no distribution provides the requested name),
    so the operator knows what to reinstall or remove. The message says what
    is wrong and how to fix it, and keeps the original exception's text.
    """

    code = "plugin_load_failed"
    status = 500

    def __init__(self, message: str, *, plugin: PluginInfo | None = None) -> None:
        super().__init__(message)
        self.plugin = plugin

    @property
    def distribution(self) -> str | None:
        """The distribution providing the plugin, when one does."""
        return self.plugin.distribution if self.plugin is not None else None

    @property
    def version(self) -> str | None:
        """That distribution's version, when known."""
        return self.plugin.version if self.plugin is not None else None

    @property
    def entry_point(self) -> str | None:
        """The entry point's (or registered plugin's) name."""
        return self.plugin.name if self.plugin is not None else None
