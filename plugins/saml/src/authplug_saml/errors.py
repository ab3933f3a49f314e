"""The SAML provider's error: one typed rejection, and pysaml2's exceptions mapped onto it.

Every way a SAML response can be refused is a :class:`SamlRejectedError`
(a :class:`~authplug.errors.NotAuthenticatedError`, so the host answers 401
and opens no session) with a stable ``code`` such as ``assertion_count`` or
``audience_mismatch``. Messages name what failed, never a value taken from
the response (nothing an attacker wrote is echoed or logged).
"""

from __future__ import annotations

from authplug.errors import NotAuthenticatedError

__all__ = ["SamlRejectedError", "from_pysaml2"]


class SamlRejectedError(NotAuthenticatedError):
    """A SAML message was refused (401); ``code`` says which check failed."""

    code = "saml_rejected"


# pysaml2 exception class name -> our code. Matched by name along the MRO so
# this module does not import saml2 (the provider imports it once, at load).
_CODES: dict[str, str] = {
    "UnsolicitedResponse": "unsolicited_response",
    "SignatureError": "bad_signature",
    "SigverError": "bad_signature",
    "IncorrectlySigned": "bad_signature",
    "MissingKey": "untrusted_certificate",
    "CertificateError": "untrusted_certificate",
    "StatusError": "status_not_success",
    "VerificationError": "verification_failed",
    "ResponseLifetimeExceed": "expired",
    "ToEarly": "not_yet_valid",
    "TooEarly": "not_yet_valid",
    "RequestVersionTooLow": "bad_version",
    "RequestVersionTooHigh": "bad_version",
    "InvalidAssertion": "assertion_count",
    "DecryptError": "decryption_failed",
    "EncryptError": "decryption_failed",
    "XmlsecError": "bad_signature",
    "ParseError": "malformed_xml",
}


def from_pysaml2(exc: BaseException, what: str = "SAML response") -> SamlRejectedError:
    """A :class:`SamlRejectedError` for an exception pysaml2 raised while checking ``what``.

    The message carries the exception's class name only (pysaml2's messages
    quote the document).
    """
    name = type(exc).__name__
    code = "invalid_response"
    for cls in type(exc).__mro__:
        if cls.__name__ in _CODES:
            code = _CODES[cls.__name__]
            break
    return SamlRejectedError(f"{what} refused by pysaml2 ({name})", code=code)
