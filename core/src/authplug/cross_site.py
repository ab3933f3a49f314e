"""Why a cross-site callback found no login transaction, in words a developer can act on.

A SAML HTTP-POST ACS or an OIDC ``response_mode=form_post`` callback is a
form the IdP's page POSTs to us: a cross-site request. Its login transaction
lives in a flow cookie begun with ``cross_site=True``
(``SameSite=None; Secure``, see :mod:`authplug.session.flow`). Browsers never
store or send a ``Secure`` cookie over plain ``http://`` (Chromium and Firefox
make an exception for ``localhost`` only in some versions), so in plain-http
development the callback arrives without it and the login cannot be matched
to the browser that started it. That failure must not look like an attack or
a bug: :func:`missing_transaction_error` builds the provider's error, whose
page says exactly why and what to do.

    >>> from authplug.request import AuthRequest
    >>> err = missing_transaction_error(AuthRequest("POST", "/auth/saml/acs", scheme="http"))
    >>> err.code, err.status
    ('unknown_transaction', 401)
    >>> "https" in err.page_text
    True
"""

from __future__ import annotations

from authplug.errors import NotAuthenticatedError
from authplug.request import AuthRequest

__all__ = ["MissingTransactionError", "missing_transaction_error"]

_PLAIN_HTTP_TEXT = (
    "Your browser did not send back this sign-in's transaction cookie. The identity "
    "provider returned you with a cross-site form POST, which browsers accompany only "
    'with a cookie marked "SameSite=None; Secure", and browsers drop Secure cookies on '
    "plain-http sites like this one. Serve this application over https (in development "
    "too, with a local certificate) and sign in again."
)
_GENERIC_TEXT = (
    "This sign-in does not match a sign-in started in this browser: it expired, was "
    "already used, or was started elsewhere. Please sign in again."
)


class MissingTransactionError(NotAuthenticatedError):
    """A callback names no live login transaction of this browser (401).

    ``page_text`` is a fixed, secret-free sentence the host shows on the
    error page (and as the JSON ``message``) instead of its generic text.
    """

    code = "unknown_transaction"

    def __init__(self, message: str, *, page_text: str, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.page_text = page_text


def missing_transaction_error(
    request: AuthRequest, *, message: str = "no live login transaction matches the callback"
) -> MissingTransactionError:
    """The error for a cross-site callback whose transaction was not found.

    Over plain http the page explains that the browser dropped the
    ``SameSite=None; Secure`` flow cookie and that the application must be
    served over https; otherwise it says the sign-in expired, was used, or
    belongs to another browser.

    :param request: The callback request (only its scheme is read).
    :param message: The log message (no request data in it).
    """
    text = _PLAIN_HTTP_TEXT if request.scheme == "http" else _GENERIC_TEXT
    return MissingTransactionError(message, page_text=text)
