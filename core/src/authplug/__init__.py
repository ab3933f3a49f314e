"""authplug: swap a Python web application's authentication system by configuration.

Install a provider distribution (``authplug-oauth``, ``authplug-saml``,
``authplug-jwt``, ``authplug-mock`` or a third party's), set ``provider`` in
``authplug.toml`` or ``AUTHPLUG_PROVIDER``, and wrap the app::

    import authplug
    import authplug.asgi

    app = authplug.asgi.AuthMiddleware(app)          # authplug.load() from config

This package only re-exports the public names; each lives in its own module.

The public surface (pinned by ``tests/core/test_exports.py``; see
``docs/writing-a-provider.md``): a plugin author imports from ``authplug``
and from ``authplug.provider``, ``hookspecs``, ``models``, ``results``,
``request``, ``routes``, ``errors``, ``claims`` and ``testing``; an
application from ``authplug``, ``authplug.asgi``, ``wsgi``, ``starlette``,
``loader``, ``host`` and ``stores``. Every other module is internal: it may
change in any release.

Public names are imported lazily on first use (PEP 562), so ``import
authplug`` and the ``authplug`` command stay fast: pydantic and pluggy load
only when a name that needs them is first touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authplug.claims import ClaimMapping, map_claims
    from authplug.config import AccessRuleConfig, AuthplugConfig
    from authplug.errors import (
        AccessDeniedError,
        AuthplugError,
        ConfigError,
        ForceUserToReauthenticateError,
        NotAuthenticatedError,
        PluginLoadError,
        ProviderUnavailableError,
        SessionTooLargeError,
    )
    from authplug.hookspecs import hookimpl, hookspec
    from authplug.host import Host, PluginInfo, build_host
    from authplug.loader import load
    from authplug.models import (
        EXTERNAL_USER,
        INTERNAL_USER,
        AgentUserView,
        AnyUser,
        AuthenticatedUser,
        StrMap,
        ToolUserView,
        UserType,
    )
    from authplug.provider import AuthProvider, NoSettings
    from authplug.request import AuthRequest, FlowAccess, FlowRecord
    from authplug.results import (
        Authenticated,
        AuthenticateResult,
        ProviderResponse,
        Redirect,
        Remembered,
        ResponseCookie,
    )
    from authplug.routes import Route

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "AccessDeniedError": "authplug.errors",
    "AccessRuleConfig": "authplug.config",
    "AgentUserView": "authplug.models",
    "AnyUser": "authplug.models",
    "ClaimMapping": "authplug.claims",
    "StrMap": "authplug.models",
    "map_claims": "authplug.claims",
    "AuthProvider": "authplug.provider",
    "AuthRequest": "authplug.request",
    "AuthenticateResult": "authplug.results",
    "Authenticated": "authplug.results",
    "AuthenticatedUser": "authplug.models",
    "AuthplugConfig": "authplug.config",
    "AuthplugError": "authplug.errors",
    "ConfigError": "authplug.errors",
    "EXTERNAL_USER": "authplug.models",
    "FlowAccess": "authplug.request",
    "FlowRecord": "authplug.request",
    "ForceUserToReauthenticateError": "authplug.errors",
    "Host": "authplug.host",
    "INTERNAL_USER": "authplug.models",
    "NoSettings": "authplug.provider",
    "NotAuthenticatedError": "authplug.errors",
    "PluginInfo": "authplug.host",
    "PluginLoadError": "authplug.errors",
    "ProviderResponse": "authplug.results",
    "ProviderUnavailableError": "authplug.errors",
    "Redirect": "authplug.results",
    "Remembered": "authplug.results",
    "ResponseCookie": "authplug.results",
    "Route": "authplug.routes",
    "SessionTooLargeError": "authplug.errors",
    "ToolUserView": "authplug.models",
    "UserType": "authplug.models",
    "build_host": "authplug.host",
    "hookimpl": "authplug.hookspecs",
    "hookspec": "authplug.hookspecs",
    "load": "authplug.loader",
}


__all__ = [
    "EXTERNAL_USER",
    "INTERNAL_USER",
    "AccessDeniedError",
    "AccessRuleConfig",
    "AgentUserView",
    "AnyUser",
    "AuthProvider",
    "AuthRequest",
    "AuthenticateResult",
    "Authenticated",
    "AuthenticatedUser",
    "AuthplugConfig",
    "AuthplugError",
    "ClaimMapping",
    "ConfigError",
    "FlowAccess",
    "FlowRecord",
    "ForceUserToReauthenticateError",
    "Host",
    "NoSettings",
    "NotAuthenticatedError",
    "PluginInfo",
    "PluginLoadError",
    "ProviderResponse",
    "ProviderUnavailableError",
    "Redirect",
    "Remembered",
    "ResponseCookie",
    "Route",
    "SessionTooLargeError",
    "StrMap",
    "ToolUserView",
    "UserType",
    "__version__",
    "build_host",
    "hookimpl",
    "hookspec",
    "load",
    "map_claims",
]


def __getattr__(name: str) -> Any:
    """Import a public name from the module that owns it, on first use."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'authplug' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names (for ``dir()`` and completion)."""
    return sorted(__all__)
