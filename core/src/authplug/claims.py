"""Turn verified token claims into an :class:`~authplug.models.AuthenticatedUser`.

One model, shared by every provider that receives claims (the JWT plugin's
bearer tokens, the OAuth plugin's ID tokens and UserInfo), so an operator
describes "where the user id, names, roles and user type live" the same way
whichever plugin is configured.

A claim *path* is either a claim's full name (``"https://example.com/roles"``,
``"cognito:groups"``) or a dotted path into nested objects
(``"realm_access.roles"``): the full name is looked up first, and only when
no such top-level claim exists is the path split on dots.

Example (Keycloak realm roles, staff recognised by a group or by their
e-mail domain)::

    [jwt.claims]
    roles = "realm_access.roles"
    role_map = { "app-admin" = "pika:content-admin", "app-user" = "pika:user" }
    internal_when = { "groups" = ["/staff"] }
    internal_email_domains = ["corp.example"]
    custom_data = { "email" = "email", "tenant" = "org.id" }

    >>> from authplug.claims import ClaimMapping, map_claims
    >>> user = map_claims(
    ...     {"sub": "u1", "given_name": "Ada", "realm_access": {"roles": ["app-admin"]},
    ...      "groups": ["/staff"], "email": "ada@example.com", "org": {"id": "acme"}},
    ...     ClaimMapping(
    ...         roles="realm_access.roles",
    ...         role_map={"app-admin": "pika:content-admin"},
    ...         internal_when={"groups": ["/staff"]},
    ...         custom_data={"email": "email", "tenant": "org.id"},
    ...     ),
    ... )
    >>> user.user_id, user.user_type, user.roles, user.custom_data["tenant"]
    ('u1', 'internal-user', ('pika:content-admin',), 'acme')

Nothing here echoes claim values in error messages: a bad claim is reported
by its name only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from authplug.errors import NotAuthenticatedError
from authplug.models import EXTERNAL_USER, INTERNAL_USER, AuthenticatedUser, StrMap
from authplug.user_build import build_user

__all__ = ["ClaimMapping", "claim_at", "map_claims"]

_MISSING = object()
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@([A-Za-z0-9.-]{1,253})")


class ClaimMapping(BaseModel):
    """Where a provider finds the user's fields in the claims.

    Attributes:
        user_id: Claim holding the stable user id (default ``"sub"``). Must be
            a non-empty string, else the token is rejected.
        first_name: Claim holding the given name (default ``"given_name"``);
            missing means empty.
        last_name: Claim holding the family name (default ``"family_name"``).
        roles: Claim path holding the roles: a list of strings, or one string
            of space-separated values (``"scope"``). Default ``"roles"``.
        role_map: IdP value -> application role. When set, only mapped values
            become roles (everything else the IdP sends is dropped); when
            empty, the IdP's values are used as they are.
        internal_when: Claim path -> values that make the user an
            ``internal-user`` (any one match is enough; the claim may be a
            string or a list of strings). Everyone else is an
            ``external-user``.
        internal_email_domains: E-mail domains whose users are
            ``internal-user`` (either rule is enough). The address in the
            ``email`` claim must be one plain ``local@domain`` string whose
            domain equals a listed one exactly, compared case-insensitively
            in ASCII: sub-domains are not included unless listed, and an
            address with a second ``@``, whitespace or control characters
            never matches. When the claims carry ``email_verified`` (OIDC),
            it must be ``true``, else the rule does not apply.
        email: Claim path holding the e-mail address, for
            ``internal_email_domains`` (default ``"email"``).
        custom_data: Custom-data key -> claim path. Only string values are
            copied; missing or non-string claims are left out.
        features: Claim path holding feature flags (list of strings or a
            space-separated string), or ``None`` for no features.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(default="sub", min_length=1, max_length=256)
    first_name: str = Field(default="given_name", min_length=1, max_length=256)
    last_name: str = Field(default="family_name", min_length=1, max_length=256)
    roles: str = Field(default="roles", min_length=1, max_length=256)
    role_map: dict[str, str] = Field(default_factory=dict)
    internal_when: dict[str, list[str]] = Field(default_factory=dict)
    internal_email_domains: list[str] = Field(default_factory=list)
    email: str = Field(default="email", min_length=1, max_length=256)
    custom_data: dict[str, str] = Field(default_factory=dict)
    features: str | None = Field(default=None, min_length=1, max_length=256)

    @field_validator("internal_email_domains")
    @classmethod
    def _plain_domains(cls, domains: list[str]) -> list[str]:
        """Lower-case each domain; refuse anything but a plain ASCII host name."""
        out = []
        for domain in domains:
            folded = domain.strip().lower().removesuffix(".")
            if _DOMAIN.fullmatch(folded) is None:
                raise ValueError(
                    f"{domain!r} is not a plain e-mail domain (like 'corp.example', no '@')"
                )
            out.append(folded)
        return out


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """Return the claim at ``path`` (full name first, then dotted), or ``None``."""
    value = claims.get(path, _MISSING)
    if value is not _MISSING:
        return value
    if "." not in path:
        return None
    current: Any = claims
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part, _MISSING)
        if current is _MISSING:
            return None
    return current


def _strings(value: Any) -> list[str]:
    """A list of strings from a list claim or a space-separated string claim."""
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str) and item]
    return []


def _optional_name(claims: Mapping[str, Any], path: str) -> str:
    value = claim_at(claims, path)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise NotAuthenticatedError(f"the {path!r} claim is not a string", code="invalid_claims")
    return value


def _roles(claims: Mapping[str, Any], mapping: ClaimMapping) -> tuple[str, ...]:
    values = _strings(claim_at(claims, mapping.roles))
    if mapping.role_map:
        values = [mapping.role_map[v] for v in values if v in mapping.role_map]
    return tuple(dict.fromkeys(values))


def _is_internal(claims: Mapping[str, Any], mapping: ClaimMapping) -> bool:
    for path, wanted in mapping.internal_when.items():
        value = claim_at(claims, path)
        present = {value} if isinstance(value, str) else set(_strings(value))
        if present.intersection(wanted):
            return True
    return bool(mapping.internal_email_domains) and _internal_email(claims, mapping)


def _internal_email(claims: Mapping[str, Any], mapping: ClaimMapping) -> bool:
    """Whether the e-mail claim's domain is one of ``internal_email_domains``."""
    verified = claims.get("email_verified", _MISSING)
    if verified is not _MISSING and verified is not True and verified != "true":
        return False
    address = claim_at(claims, mapping.email)
    if not isinstance(address, str):
        return False
    match = _EMAIL.fullmatch(address)
    if match is None:
        return False
    domain = match.group(1).lower().removesuffix(".")
    return domain in mapping.internal_email_domains


def _custom_data(claims: Mapping[str, Any], mapping: ClaimMapping) -> StrMap | None:
    if not mapping.custom_data:
        return None
    data: StrMap = {}
    for key, path in mapping.custom_data.items():
        value = claim_at(claims, path)
        if isinstance(value, str):
            data[key] = value
    return data


def map_claims(
    claims: Mapping[str, Any],
    mapping: ClaimMapping,
    *,
    auth_data: StrMap | None = None,
) -> AuthenticatedUser[StrMap, StrMap]:
    """Build the user described by verified ``claims`` according to ``mapping``.

    :param claims: Claims of a token whose signature and registered claims
        were already verified.
    :param mapping: Where each user field lives.
    :param auth_data: Credentials to carry in the user's ``auth_data``.
    :raises NotAuthenticatedError: (code ``"invalid_claims"``) the user id is
        missing, empty or not a string, a name is not a string, or a value is
        longer than the user model allows. The message names the claim only.
    """
    user_id = claim_at(claims, mapping.user_id)
    if not isinstance(user_id, str) or not user_id:
        raise NotAuthenticatedError(
            f"the {mapping.user_id!r} claim (user id) is missing or not a non-empty string",
            code="invalid_claims",
        )
    features = _strings(claim_at(claims, mapping.features)) if mapping.features else []
    try:
        # The values are plain strings picked from the claims above: build_user
        # checks every model constraint without a pydantic round trip (#16).
        return build_user(
            user_id=user_id,
            first_name=_optional_name(claims, mapping.first_name),
            last_name=_optional_name(claims, mapping.last_name),
            user_type=INTERNAL_USER if _is_internal(claims, mapping) else EXTERNAL_USER,
            roles=_roles(claims, mapping),
            custom_data=_custom_data(claims, mapping),
            auth_data=auth_data,
            features=features,
        )
    except ValueError as exc:
        field = str(exc).split(":", 1)[0]
        raise NotAuthenticatedError(
            f"claims do not fit the user model ({field or 'user'})",
            code="invalid_claims",
        ) from None
