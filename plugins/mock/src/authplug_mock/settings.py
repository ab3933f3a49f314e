"""The mock provider's settings: the ``[mock]`` table of ``authplug.toml``.

Every provider declares one pydantic model for its config section and names
it in ``settings_model`` on its provider class. The loader validates the
section with it before the provider is constructed, so a typo fails at
start-up with a message naming the key, never at the first login. Write yours
the same way:

* ``extra="forbid"``: an unknown key is an error, not silently ignored;
* ``frozen=True``: settings never change after start-up;
* ``StrictBool`` for switches: the string ``"true"`` in a TOML file is an
  error rather than a truthy surprise (environment variables are converted
  to real booleans by the core before validation);
* cross-field rules in a ``model_validator`` (here: the refresh token outlives
  the access token), with messages that never echo secret values.

Example::

    provider = "mock"

    [mock]
    token_lifetime = 300
    refresh_token_lifetime = 3600

    [[mock.users]]
    user_id = "ada"
    first_name = "Ada"
    user_type = "internal-user"
    roles = ["pika:content-admin"]
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, StrictBool, model_validator

from authplug.models import StrMap, UserType

__all__ = ["MAX_LIFETIME", "MockSettings", "MockUser", "default_users"]

MAX_LIFETIME = 10 * 365 * 24 * 3600
"""Upper bound of both token lifetimes, in seconds (ten years)."""


class MockUser(BaseModel):
    """One user offered on the mock login page.

    The fields mirror :class:`authplug.models.AuthenticatedUser` (without
    ``auth_data``, which the provider mints at login).

    Attributes:
        user_id: Unique identifier; the login link selects the user by it.
        first_name: Given name, shown on the login page.
        last_name: Family name, shown on the login page.
        user_type: ``"internal-user"`` or ``"external-user"``.
        roles: Role names such as ``"pika:content-admin"``.
        custom_data: Application data (company, locale...), or ``None``.
        features: Feature flags (``"instruction"``, ``"history"``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1, max_length=512)
    first_name: str = Field(default="", max_length=512)
    last_name: str = Field(default="", max_length=512)
    user_type: UserType
    roles: tuple[str, ...] = ()
    custom_data: StrMap | None = None
    features: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        """``"First Last"``, or the user id when both names are empty."""
        return f"{self.first_name} {self.last_name}".strip() or self.user_id


def default_users() -> list[MockUser]:
    """The three users a fresh install offers: an admin, a staff member and a customer."""
    return [
        MockUser(
            user_id="admin",
            first_name="Ada",
            last_name="Admin",
            user_type="internal-user",
            roles=("pika:content-admin",),
            features=("instruction", "history"),
        ),
        MockUser(
            user_id="staff",
            first_name="Sam",
            last_name="Staff",
            user_type="internal-user",
        ),
        MockUser(
            user_id="customer",
            first_name="Casey",
            last_name="Customer",
            user_type="external-user",
            custom_data={"company": "Acme Corp", "companyId": "acme-001"},
        ),
    ]


class MockSettings(BaseModel):
    """Settings of the mock provider (the ``[mock]`` config table).

    Attributes:
        users: The users offered on the login page; ids must be unique.
        token_lifetime: Seconds an access token lives; the host refreshes the
            session when it is about to expire.
        refresh_token_lifetime: Seconds the refresh token lives, counted from
            login; after it the user must log in again. Must be at least
            ``token_lifetime``.
        allow_in_production: Let the loader accept the mock provider with
            ``env = "production"``. Leave it off: the mock logs anyone in as
            any configured user, admins included.
        allow_remote: Serve the login to clients on other machines too. Off
            by default: only loopback clients (127.0.0.0/8, ``::1``) may log
            in (see :mod:`authplug_mock.client_check`). Turn it on only for a
            shared development server nobody else can reach.
        trusted_proxies: Addresses or networks of reverse proxies in front of
            the app whose ``X-Forwarded-For``/``Forwarded``/``X-Real-IP``
            headers are believed when judging whether the client is local.
            Empty (the default): a request carrying such a header is refused.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: list[MockUser] = Field(default_factory=default_users, min_length=1)
    token_lifetime: int = Field(default=300, gt=0, le=MAX_LIFETIME)
    refresh_token_lifetime: int = Field(default=3600, gt=0, le=MAX_LIFETIME)
    allow_in_production: StrictBool = False
    allow_remote: StrictBool = False
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list, max_length=64)

    @model_validator(mode="after")
    def _check(self) -> MockSettings:
        seen: set[str] = set()
        for index, user in enumerate(self.users):
            if user.user_id in seen:
                raise ValueError(f"users[{index}].user_id {user.user_id!r} repeats an earlier user")
            seen.add(user.user_id)
        if self.refresh_token_lifetime < self.token_lifetime:
            raise ValueError("refresh_token_lifetime must not be shorter than token_lifetime")
        return self

    def find_user(self, user_id: str) -> MockUser | None:
        """Return the configured user called ``user_id``, or ``None``."""
        for user in self.users:
            if user.user_id == user_id:
                return user
        return None
