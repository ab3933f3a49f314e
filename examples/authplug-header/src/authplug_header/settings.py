"""Settings of the ``header`` provider: which proxy to trust and which headers to read."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["HeaderSettings"]

_HEADER = r"^[A-Za-z0-9-]{1,64}$"


class HeaderSettings(BaseModel):
    """The ``[header]`` table.

    Attributes:
        trusted_proxies: Networks (CIDRs) of the reverse proxies allowed to
            assert identity, e.g. ``["10.0.0.5/32"]``. Identity headers from
            any other peer are ignored and logged. Required; ``0.0.0.0/0``
            and ``::/0`` are refused.
        user_header: Header naming the user (the stable id).
        email_header: Header with the user's e-mail address (optional).
        name_header: Header with a display name (optional).
        groups_header: Header listing the user's groups; they become roles.
        groups_separator: Separator of ``groups_header``'s values.
        shared_secret_header: Header the proxy sets to ``shared_secret`` on
            every request, as a second check besides its address.
        shared_secret: The value of ``shared_secret_header`` (compared in
            constant time). Set both or neither.
        internal_email_domains: E-mail domains whose users are
            ``internal-user``; everyone else is ``external-user``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted_proxies: list[IPv4Network | IPv6Network] = Field(min_length=1, max_length=64)
    user_header: str = Field(default="X-Forwarded-User", pattern=_HEADER)
    email_header: str | None = Field(default="X-Forwarded-Email", pattern=_HEADER)
    name_header: str | None = Field(default="X-Forwarded-Preferred-Username", pattern=_HEADER)
    groups_header: str | None = Field(default="X-Forwarded-Groups", pattern=_HEADER)
    groups_separator: str = Field(default=",", min_length=1, max_length=4)
    shared_secret_header: str | None = Field(default=None, pattern=_HEADER)
    shared_secret: SecretStr | None = Field(default=None, min_length=16)
    internal_email_domains: list[str] = Field(default_factory=list, max_length=64)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        """Accept one CIDR or a list; refuse a network that trusts everyone."""
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        networks = []
        for item in items:
            try:
                network = ip_network(str(item), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP network (CIDR)") from None
            if network.prefixlen == 0:
                raise ValueError(f"{network} trusts every address: name your proxies' networks")
            networks.append(network)
        return networks

    @field_validator("internal_email_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [d.lower().lstrip("@") for d in value]

    @model_validator(mode="after")
    def _secret_pair(self) -> HeaderSettings:
        if (self.shared_secret_header is None) != (self.shared_secret is None):
            raise ValueError("set shared_secret_header and shared_secret together, or neither")
        return self
