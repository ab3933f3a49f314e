"""What the ACS checks on the response pysaml2 accepted, beyond pysaml2's defaults.

Measured on pysaml2 7.5, its defaults accept a missing ``AudienceRestriction``,
a bearer confirmation without ``NotOnOrAfter``, sender-vouches and
holder-of-key confirmations, a wrong ``Recipient`` (no conversation info
passed), a missing ``Destination``, SHA-1 signatures and an issuer that is
merely *some* IdP of the metadata. :func:`check_response` refuses each of
those on the very objects pysaml2 verified:

* status ``Success`` only; ``Destination`` present and equal to the ACS URL;
* the Response ``Issuer`` (when present; SAML makes it optional) and the
  Assertion ``Issuer`` (required) equal the configured IdP's entity id;
* ``InResponseTo`` on the Response and on the bearer confirmation equal the
  request id of *this browser's* live login transaction (or are absent on an
  allowed IdP-initiated response);
* exactly one assertion; an ``AudienceRestriction`` that names this SP in
  every restriction;
* every ``SubjectConfirmation`` is bearer, with ``Recipient`` equal to the
  ACS URL and a ``NotOnOrAfter`` in the future (a bearer ``NotBefore`` is
  refused, as the Web SSO profile forbids it);
* ``Conditions`` times hold (with the clock skew); an ``AuthnStatement`` is
  present; its ``SessionNotOnOrAfter`` is returned to cap the session;
* signature algorithms on the assertion pysaml2 used (a decrypted one
  included) are the allowed ones;
* a NameID that is present, non-empty, and free of control characters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from authplug_saml.document import ALLOWED_DIGESTS, ALLOWED_SIGNATURE_METHODS
from authplug_saml.errors import SamlRejectedError

__all__ = ["CheckedAssertion", "Expectations", "check_response", "parse_instant"]

BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
_ENTITY_FORMAT = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"


@dataclass(frozen=True, slots=True)
class Expectations:
    """What the response must say.

    Attributes:
        idp_entity_id: The configured IdP.
        sp_entity_id: This SP (the audience).
        acs_url: The ACS URL (``Destination``, ``Recipient``).
        request_id: The live AuthnRequest's id, or ``None`` for an allowed
            IdP-initiated response.
        now: Current time, epoch seconds.
        skew: Clock skew tolerated, seconds.
    """

    idp_entity_id: str
    sp_entity_id: str
    acs_url: str
    request_id: str | None
    now: float
    skew: float


@dataclass(frozen=True, slots=True)
class CheckedAssertion:
    """The facts of an accepted assertion.

    Attributes:
        assertion_id: The assertion's ``ID`` (the replay-cache key).
        name_id: The NameID text.
        name_id_format: Its ``Format`` (or ``""``).
        name_id_element: pysaml2's NameID object (for a LogoutRequest).
        not_on_or_after: Epoch seconds the bearer confirmation ends.
        session_not_on_or_after: Epoch seconds the IdP session ends, or ``None``.
        session_index: The ``SessionIndex`` (for single logout), or ``None``.
        attributes: Attribute name (``Name`` and ``FriendlyName``) -> values.
    """

    assertion_id: str
    name_id: str
    name_id_format: str
    name_id_element: Any
    not_on_or_after: float
    session_not_on_or_after: float | None
    session_index: str | None
    attributes: dict[str, list[str]]


def _reject(message: str, code: str) -> SamlRejectedError:
    return SamlRejectedError(message, code=code)


def parse_instant(value: object, what: str) -> float:
    """An ``xs:dateTime`` (UTC ``Z``, offset, or naive = UTC) as epoch seconds."""
    if not isinstance(value, str) or not value or len(value) > 64:
        raise _reject(f"{what} is not a date-time", "bad_time")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _reject(f"{what} is not a date-time", "bad_time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = moment.timestamp()
    if not math.isfinite(seconds):
        raise _reject(f"{what} is not a date-time", "bad_time")
    return seconds


def _issuer_is(issuer: Any, entity_id: str) -> bool:
    if issuer is None:
        return False
    fmt = getattr(issuer, "format", None)
    if fmt not in (None, "", _ENTITY_FORMAT):
        return False
    return (getattr(issuer, "text", None) or "").strip() == entity_id


def _check_signature_algorithms(signature: Any) -> None:
    if signature is None:
        return
    signed_info = signature.signed_info
    method = signed_info.signature_method.algorithm if signed_info.signature_method else None
    if method not in ALLOWED_SIGNATURE_METHODS:
        raise _reject("signature method is weak or not allowed", "weak_signature_algorithm")
    for reference in signed_info.reference or ():
        digest = reference.digest_method.algorithm if reference.digest_method else None
        if digest not in ALLOWED_DIGESTS:
            raise _reject("signature digest is weak or not allowed", "weak_signature_algorithm")


def _check_conditions(conditions: Any, expect: Expectations) -> None:
    if conditions is None:
        raise _reject("the assertion has no Conditions", "audience_missing")
    restrictions = conditions.audience_restriction or []
    if not restrictions:
        raise _reject("the assertion has no AudienceRestriction", "audience_missing")
    for restriction in restrictions:
        audiences = {(a.text or "").strip() for a in restriction.audience or ()}
        if expect.sp_entity_id not in audiences:
            raise _reject("the assertion is meant for another audience", "audience_mismatch")
    if conditions.not_before is not None:
        not_before = parse_instant(conditions.not_before, "Conditions NotBefore")
        if expect.now + expect.skew < not_before:
            raise _reject("the assertion is not valid yet", "not_yet_valid")
    if conditions.not_on_or_after is not None:
        not_after = parse_instant(conditions.not_on_or_after, "Conditions NotOnOrAfter")
        if expect.now - expect.skew >= not_after:
            raise _reject("the assertion has expired", "expired")


def _check_confirmations(subject: Any, expect: Expectations) -> float:
    """Every confirmation bearer and valid; the earliest ``NotOnOrAfter``."""
    confirmations = subject.subject_confirmation or []
    if not confirmations:
        raise _reject("the assertion has no SubjectConfirmation", "subject_confirmation")
    ends: list[float] = []
    for confirmation in confirmations:
        if confirmation.method != BEARER:
            raise _reject("only bearer subject confirmation is accepted", "subject_confirmation")
        data = confirmation.subject_confirmation_data
        if data is None:
            raise _reject("bearer confirmation has no data", "subject_confirmation")
        if (data.recipient or "").strip() != expect.acs_url:
            raise _reject("bearer confirmation is for another recipient", "recipient_mismatch")
        if data.not_on_or_after is None:
            raise _reject("bearer confirmation has no NotOnOrAfter", "subject_confirmation")
        end = parse_instant(data.not_on_or_after, "SubjectConfirmationData NotOnOrAfter")
        if expect.now - expect.skew >= end:
            raise _reject("bearer confirmation has expired", "expired")
        if data.not_before is not None:
            raise _reject("bearer confirmation carries NotBefore", "subject_confirmation")
        if data.in_response_to != expect.request_id:
            raise _reject("bearer confirmation answers another request", "in_response_to_mismatch")
        ends.append(end)
    return min(ends)


def _name_id(subject: Any) -> tuple[str, str, Any]:
    name_id = getattr(subject, "name_id", None)
    if name_id is None or getattr(subject, "encrypted_id", None) is not None:
        raise _reject("the assertion has no NameID", "name_id_missing")
    text = name_id.text or ""
    if not text.strip() or text != text.strip() or not text.isprintable() or len(text) > 256:
        raise _reject("the NameID is empty or malformed", "name_id_invalid")
    return text, name_id.format or "", name_id


def _attributes(assertion: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement or ():
        for attribute in statement.attribute or ():
            values = [v.text for v in attribute.attribute_value or () if isinstance(v.text, str)]
            for key in {attribute.name, attribute.friendly_name} - {None, ""}:
                found.setdefault(str(key), []).extend(values)
    return found


def check_response(response: Any, expect: Expectations) -> CheckedAssertion:
    """Apply every check of the module docstring to pysaml2's accepted ``AuthnResponse``.

    :raises SamlRejectedError: the first check that fails, by ``code``.
    """
    message = response.response
    status = message.status.status_code.value if message.status else None
    if status != SUCCESS:
        raise _reject("the IdP answered with a non-success status", "status_not_success")
    if (message.destination or "").strip() != expect.acs_url:
        raise _reject("the response is addressed to another destination", "destination_mismatch")
    if message.issuer is not None and not _issuer_is(message.issuer, expect.idp_entity_id):
        raise _reject("the response comes from another issuer", "issuer_mismatch")
    if message.in_response_to != expect.request_id:
        raise _reject("the response answers another request", "in_response_to_mismatch")
    assertions = list(response.assertions or ())
    if len(assertions) != 1 or response.assertion is not assertions[0]:
        raise _reject("the response must hold exactly one assertion", "assertion_count")
    assertion = assertions[0]
    if not _issuer_is(assertion.issuer, expect.idp_entity_id):
        raise _reject("the assertion comes from another issuer", "issuer_mismatch")
    _check_signature_algorithms(getattr(message, "signature", None))
    _check_signature_algorithms(getattr(assertion, "signature", None))
    if not assertion.id:
        raise _reject("the assertion has no ID", "assertion_id_missing")
    _check_conditions(assertion.conditions, expect)
    subject = assertion.subject
    if subject is None:
        raise _reject("the assertion has no Subject", "name_id_missing")
    not_on_or_after = _check_confirmations(subject, expect)
    name_id, name_id_format, name_id_element = _name_id(subject)
    statements = assertion.authn_statement or []
    if not statements:
        raise _reject("the assertion has no AuthnStatement", "authn_statement_missing")
    session_end: float | None = None
    session_index: str | None = None
    for statement in statements:
        if statement.session_not_on_or_after is not None:
            end = parse_instant(statement.session_not_on_or_after, "SessionNotOnOrAfter")
            session_end = end if session_end is None else min(session_end, end)
        if session_index is None and statement.session_index:
            session_index = str(statement.session_index)
    if session_end is not None and session_end <= expect.now - expect.skew:
        raise _reject("the IdP session has already ended", "expired")
    return CheckedAssertion(
        assertion_id=str(assertion.id),
        name_id=name_id,
        name_id_format=name_id_format,
        name_id_element=name_id_element,
        not_on_or_after=not_on_or_after,
        session_not_on_or_after=session_end,
        session_index=session_index,
        attributes=_attributes(assertion),
    )
