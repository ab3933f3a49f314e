"""``AuthProvider``: the convenience base class for identity providers.

Subclass ``AuthProvider[SettingsT, AuthDataT, CustomDataT]`` with your
pydantic settings model (``extra="forbid"``) as the first type argument, and
implement :meth:`~AuthProvider.authenticate` (plus
:meth:`~AuthProvider.validate_user` and :meth:`~AuthProvider.refresh` when
your sessions can go stale). Its hook implementations delegate to those
methods. A bare pluggy plugin object with ``@hookimpl`` functions works too.

Register it under the ``authplug.providers`` entry-point group::

    [project.entry-points."authplug.providers"]
    acme = "authplug_acme.provider:AcmeProvider"

The loader validates the ``[acme]`` config section with ``settings_model``
(taken from the first type argument unless the class sets it) and calls
``AcmeProvider(settings)``. Before that it checks the class's shape (see
:mod:`authplug.provider_checks`): ``authenticate`` overridden with the right
signature, no misspelled method, a settings model that forbids unknown keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict

from authplug.errors import ForceUserToReauthenticateError
from authplug.hookspecs import hookimpl
from authplug.models import AuthDataT, AuthenticatedUser, CustomDataT
from authplug.request import AuthRequest, HeaderLookup
from authplug.results import AuthenticateResult, Redirect, Remembered
from authplug.routes import Route

__all__ = ["AuthProvider", "NoSettings", "SettingsT"]

SettingsT = TypeVar("SettingsT", bound=BaseModel)
"""The type of a provider's validated settings (its ``settings_model``)."""


class NoSettings(BaseModel):
    """Settings model of a provider that takes no settings (any key is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthProvider(Generic[SettingsT, AuthDataT, CustomDataT]):
    """Base class for a provider producing ``AuthenticatedUser[AuthDataT, CustomDataT]``.

    ``self.settings`` has the type ``SettingsT`` (``AcmeSettings`` in
    ``AuthProvider[AcmeSettings, StrMap, StrMap]``), so ``mypy --strict``
    checks every use of a setting.

    Class attributes:
        settings_model: Pydantic model of the provider's config section;
            unknown keys must be errors (``extra="forbid"``). Defaults to the
            first type argument when that is a pydantic model.
        development_only: When true, the loader refuses the provider with
            ``AUTHPLUG_ENV=production`` unless its settings have
            ``allow_in_production = true``.
        stateless: When true, the provider authenticates every request itself
            (bearer tokens, identity headers) and the host keeps no session
            cookie for it (so production needs no ``cookie_keys``).
        challenge: The ``WWW-Authenticate`` value of this provider's 401
            answers to API clients (``"Bearer"``, ``'Proxy realm="corp"'``),
            or ``None`` (see ``authplug_challenge``).
    """

    settings_model: ClassVar[type[BaseModel]] = NoSettings
    development_only: ClassVar[bool] = False
    stateless: ClassVar[bool] = False
    challenge: ClassVar[str | None] = None

    def __class_getitem__(cls, params: Any) -> Any:
        """``AuthProvider[Settings, AuthData, CustomData]``; the two-argument form is explained."""
        if cls is AuthProvider and isinstance(params, tuple) and len(params) == 2:
            raise TypeError(
                "AuthProvider takes three type arguments, the settings model first: "
                "AuthProvider[AcmeSettings, StrMap, StrMap] "
                "(AuthProvider[NoSettings, StrMap, StrMap] for a provider without settings)"
            )
        return super().__class_getitem__(params)  # type: ignore[misc]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Take ``settings_model`` from ``AuthProvider[Settings, ...]`` when the class sets none."""
        super().__init_subclass__(**kwargs)
        if "settings_model" in cls.__dict__:
            return
        for base in cls.__dict__.get("__orig_bases__", ()):
            if get_origin(base) is AuthProvider:
                declared = get_args(base)[0]
                if isinstance(declared, type) and issubclass(declared, BaseModel):
                    cls.settings_model = declared

    def __init__(self, settings: SettingsT) -> None:
        """Keep the validated ``settings`` (an instance of :attr:`settings_model`)."""
        self.settings: SettingsT = settings

    # -- the methods a provider implements --------------------------------------

    def authenticate(
        self, request: AuthRequest
    ) -> AuthenticateResult | Awaitable[AuthenticateResult]:
        """Authenticate a request that has no session (see ``authplug_authenticate``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement authenticate()")

    def authenticate_fast(
        self, header: HeaderLookup
    ) -> AuthenticatedUser[AuthDataT, CustomDataT] | Remembered | None:
        """The synchronous fast path of a stateless provider (see ``authplug_authenticate_fast``).

        Return the user when it can be answered from memory, without I/O
        (wrapped in :class:`~authplug.results.Remembered` when the host may
        give the same answer again for the same header values until a given
        moment); ``None`` (the default) lets :meth:`authenticate` decide.
        """
        return None

    def validate_user(
        self, request: AuthRequest, user: AuthenticatedUser[AuthDataT, CustomDataT]
    ) -> (
        AuthenticatedUser[AuthDataT, CustomDataT]
        | Awaitable[AuthenticatedUser[AuthDataT, CustomDataT] | None]
        | None
    ):
        """Re-check a session's user (see ``authplug_validate``); default: still valid."""
        return None

    def refresh(
        self, user: AuthenticatedUser[AuthDataT, CustomDataT]
    ) -> (
        AuthenticatedUser[AuthDataT, CustomDataT]
        | Awaitable[AuthenticatedUser[AuthDataT, CustomDataT]]
    ):
        """Get fresh tokens (see ``authplug_refresh``); default: cannot refresh."""
        raise ForceUserToReauthenticateError(
            "this provider cannot refresh a session", code="refresh_unsupported"
        )

    def routes(self) -> Sequence[Route]:
        """The provider's endpoints under ``/auth/`` (see ``authplug_routes``)."""
        return ()

    def check(self) -> Sequence[str] | Awaitable[Sequence[str]]:
        """Problems that would keep this provider from working, for ``authplug check``.

        Reach the identity provider (discovery document, JWKS, metadata) and
        return one sentence per problem, naming the IdP and never a secret;
        an empty sequence means ready. Default: nothing to check.
        """
        return ()

    def logout(
        self, request: AuthRequest, user: AuthenticatedUser[AuthDataT, CustomDataT] | None
    ) -> Redirect | Awaitable[Redirect | None] | None:
        """Where to send the browser after logout (see ``authplug_logout``); default: nowhere."""
        return None

    # -- hook implementations: delegate to the methods above --------------------

    @hookimpl
    def authplug_authenticate(
        self, request: AuthRequest
    ) -> AuthenticateResult | Awaitable[AuthenticateResult]:
        """Hook implementation: delegates to :meth:`authenticate`."""
        return self.authenticate(request)

    @hookimpl
    def authplug_authenticate_fast(
        self, header: HeaderLookup
    ) -> AuthenticatedUser[AuthDataT, CustomDataT] | Remembered | None:
        """Hook implementation: delegates to :meth:`authenticate_fast`."""
        return self.authenticate_fast(header)

    @hookimpl
    def authplug_validate(
        self, request: AuthRequest, user: AuthenticatedUser[AuthDataT, CustomDataT]
    ) -> (
        AuthenticatedUser[AuthDataT, CustomDataT]
        | Awaitable[AuthenticatedUser[AuthDataT, CustomDataT] | None]
        | None
    ):
        """Hook implementation: delegates to :meth:`validate_user`."""
        return self.validate_user(request, user)

    @hookimpl
    def authplug_refresh(
        self, user: AuthenticatedUser[AuthDataT, CustomDataT]
    ) -> (
        AuthenticatedUser[AuthDataT, CustomDataT]
        | Awaitable[AuthenticatedUser[AuthDataT, CustomDataT]]
    ):
        """Hook implementation: delegates to :meth:`refresh`."""
        return self.refresh(user)

    @hookimpl
    def authplug_routes(self) -> Sequence[Route]:
        """Hook implementation: delegates to :meth:`routes`."""
        return self.routes()

    @hookimpl
    def authplug_challenge(self) -> str | None:
        """Hook implementation: returns :attr:`challenge`."""
        return self.challenge

    @hookimpl
    def authplug_check(self) -> Sequence[str] | Awaitable[Sequence[str]]:
        """Hook implementation: delegates to :meth:`check`."""
        return self.check()

    @hookimpl
    def authplug_logout(
        self, request: AuthRequest, user: AuthenticatedUser[AuthDataT, CustomDataT] | None
    ) -> Redirect | Awaitable[Redirect | None] | None:
        """Hook implementation: delegates to :meth:`logout`."""
        return self.logout(request, user)
