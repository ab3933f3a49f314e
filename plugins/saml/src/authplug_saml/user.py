"""The user an accepted assertion describes, through the core's ``ClaimMapping``.

The claims handed to :func:`authplug.claims.map_claims` are the assertion's
attributes, each under its ``Name`` and its ``FriendlyName`` (one value: a
string; several: a list), plus:

* ``saml:subject`` = ``<IdP entity id>!<NameID>``: the default user id, so
  identity is keyed on the IdP and its NameID, never on an e-mail attribute;
* ``saml:name_id`` = the bare NameID.

An attribute cannot shadow those two: they are set last.

``auth_data`` keeps what the session and single logout need: the end of the
session (``expires_at``: the earlier of ``SessionNotOnOrAfter`` and login +
``session_lifetime``), the NameID, its format, the ``SessionIndex`` and the
IdP's entity id.
"""

from __future__ import annotations

from typing import Any

from authplug.claims import ClaimMapping, map_claims
from authplug.models import AuthenticatedUser, StrMap
from authplug_saml.assertion_checks import CheckedAssertion
from authplug_saml.settings import SUBJECT_CLAIM

__all__ = [
    "EXPIRES_AT",
    "IDP",
    "NAME_ID",
    "NAME_ID_CLAIM",
    "NAME_ID_FORMAT",
    "SESSION_INDEX",
    "SamlUser",
    "build_user",
]

SamlUser = AuthenticatedUser[StrMap, StrMap]
NAME_ID_CLAIM = "saml:name_id"
EXPIRES_AT = "expires_at"
NAME_ID = "saml_name_id"
NAME_ID_FORMAT = "saml_name_id_format"
SESSION_INDEX = "saml_session_index"
IDP = "saml_idp"


def build_user(
    checked: CheckedAssertion,
    *,
    idp_entity_id: str,
    mapping: ClaimMapping,
    now: float,
    session_lifetime: int,
) -> SamlUser:
    """Map ``checked`` to a user.

    :raises NotAuthenticatedError: (``invalid_claims``) the mapped user id is
        missing, or a value does not fit the user model.
    """
    claims: dict[str, Any] = {
        name: values[0] if len(values) == 1 else list(values)
        for name, values in checked.attributes.items()
        if values
    }
    claims[SUBJECT_CLAIM] = f"{idp_entity_id}!{checked.name_id}"
    claims[NAME_ID_CLAIM] = checked.name_id
    ends = now + session_lifetime
    if checked.session_not_on_or_after is not None:
        ends = min(ends, checked.session_not_on_or_after)
    auth_data: StrMap = {
        EXPIRES_AT: str(int(ends)),
        NAME_ID: checked.name_id,
        NAME_ID_FORMAT: checked.name_id_format,
        IDP: idp_entity_id,
    }
    if checked.session_index:
        auth_data[SESSION_INDEX] = checked.session_index
    return map_claims(claims, mapping, auth_data=auth_data)
