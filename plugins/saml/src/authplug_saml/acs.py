"""The assertion consumer service: ``POST /auth/saml/acs`` (HTTP-POST binding).

Order of work, each step refusing with a typed :class:`SamlRejectedError`
(401, no session, no store row) before the next one runs:

1. the form: URL-encoded, ``SAMLResponse`` and ``RelayState`` at most once
   each;
2. ``RelayState`` is an opaque handle, the id of this browser's login
   transaction, never a URL: anything else is refused. The transaction is
   consumed at once (single use, even when the response then fails); a
   missing one is :func:`authplug.cross_site.missing_transaction_error`,
   whose page explains a dropped ``SameSite=None; Secure`` cookie on plain
   http. Without ``RelayState`` only an allowed IdP-initiated login goes on;
3. size bound and strict base64 (:func:`~authplug_saml.document.decode_form_value`);
4. structural inspection without pysaml2 (:func:`~authplug_saml.document.inspect`):
   no DOCTYPE, comment, PI or XInclude; exactly one assertion; signatures
   where SAML puts them, over their parent only, strong algorithms,
   certificates from the metadata; the signatures the settings require are
   present;
5. pysaml2 parses and verifies (xmlsec1), with the transaction's request id
   as the only outstanding query;
6. :func:`~authplug_saml.assertion_checks.check_response`: what pysaml2 does
   not enforce by default;
7. the assertion id is claimed in the replay cache (in the user store);
8. the attributes become the user (:mod:`authplug_saml.user`).

pysaml2 and the store run in a worker thread (xmlsec1 is a subprocess), so
the event loop is never blocked by them.
"""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from authplug.claims import ClaimMapping
from authplug.cross_site import missing_transaction_error
from authplug.request import AuthRequest
from authplug.results import Authenticated
from authplug_saml.assertion_checks import Expectations, check_response
from authplug_saml.document import decode_form_value, inspect
from authplug_saml.errors import SamlRejectedError, from_pysaml2
from authplug_saml.replay import ReplayCache
from authplug_saml.settings import SamlSettings
from authplug_saml.sp_client import SpClient
from authplug_saml.user import build_user

__all__ = ["REQUEST_ID", "Acs"]

REQUEST_ID = "request_id"
"""The flow-transaction key holding the AuthnRequest's id."""

_RELAY_STATE = re.compile(r"[A-Za-z0-9_-]{22}")
_FORM = "application/x-www-form-urlencoded"


def _reject(message: str, code: str) -> SamlRejectedError:
    return SamlRejectedError(message, code=code)


@dataclass(frozen=True, slots=True)
class _Form:
    response: str
    relay_state: str | None


def _read_form(request: AuthRequest) -> _Form:
    content_type = (request.header("content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != _FORM:
        raise _reject("the ACS expects an HTML form POST", "bad_request")
    try:
        body = request.body.decode("ascii")
    except UnicodeDecodeError:
        raise _reject("the ACS form is not URL-encoded ASCII", "bad_request") from None
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        if name in ("SAMLResponse", "RelayState"):
            if name in fields:
                raise _reject(f"{name} appears twice", "duplicate_parameter")
            fields[name] = value
    if "SAMLResponse" not in fields:
        raise _reject("the form has no SAMLResponse", "bad_request")
    return _Form(fields["SAMLResponse"], fields.get("RelayState") or None)


class Acs:
    """The ACS route handler.

    :param settings: Provider settings.
    :param client: Returns the current :class:`SpClient` (it changes on a
        metadata refresh).
    :param replay: The assertion replay cache, or ``None`` until the host
        hands the provider its store (then every response is refused).
    :param mapping: The claim mapping.
    :param clock: Epoch-seconds clock.
    """

    __slots__ = ("_client", "_clock", "_mapping", "_settings", "replay")

    def __init__(
        self,
        settings: SamlSettings,
        client: Callable[[], SpClient],
        mapping: ClaimMapping,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._client = client
        self._mapping = mapping
        self._clock = clock
        self.replay: ReplayCache | None = None

    def _request_id(self, request: AuthRequest, relay_state: str | None) -> str | None:
        """Consume this browser's transaction; its request id (``None``: IdP-initiated)."""
        if relay_state is None:
            if self._settings.allow_idp_initiated:
                return None
            raise _reject("the response carries no RelayState", "unsolicited_response")
        if _RELAY_STATE.fullmatch(relay_state) is None:
            raise _reject("RelayState is not a login transaction handle", "bad_relay_state")
        record = request.flow.consume(relay_state) if request.flow is not None else None
        if record is None:
            raise missing_transaction_error(request)
        request_id = record.data.get(REQUEST_ID)
        if not request_id:
            raise missing_transaction_error(request)
        return request_id

    async def __call__(self, request: AuthRequest) -> Authenticated:
        """Handle one POST to the ACS (see the module docstring)."""
        form = _read_form(request)
        request_id = self._request_id(request, form.relay_state)
        settings = self._settings
        document = decode_form_value(form.response, settings.max_response_bytes)
        client = self._client()
        found = inspect(document, client.idp.signing_certs)
        if found.encrypted and settings.sp_key_file is None:
            raise _reject(
                "the assertion is encrypted but no SP key is configured", "encrypted_assertion"
            )
        if settings.want_response_signed and not found.response_signed:
            raise _reject("the Response is not signed", "response_unsigned")
        if settings.want_assertions_signed and not found.encrypted and not found.assertion_signed:
            raise _reject("the Assertion is not signed", "assertion_unsigned")
        replay = self.replay
        if replay is None:
            raise _reject("the provider has no replay cache", "not_ready")
        return await asyncio.to_thread(self._verify, client, replay, document, request_id)

    def _verify(
        self, client: SpClient, replay: ReplayCache, document: bytes, request_id: str | None
    ) -> Authenticated:
        """pysaml2, our checks, the replay cache, the user (blocking: runs in a thread)."""
        outstanding = {request_id: "/"} if request_id is not None else {}
        try:
            parsed = client.parse_response(base64.b64encode(document).decode(), outstanding)
        except SamlRejectedError:
            raise
        except Exception as exc:  # pysaml2 raises many types, plain Exception included
            raise from_pysaml2(exc) from None
        if parsed is None:
            raise _reject("pysaml2 could not read the response", "invalid_response")
        now = self._clock()
        idp = client.idp.entity_id
        settings = self._settings
        checked = check_response(
            parsed,
            Expectations(
                idp_entity_id=idp,
                sp_entity_id=settings.sp_entity_id,
                acs_url=settings.acs_url,
                request_id=request_id,
                now=now,
                skew=float(settings.clock_skew),
            ),
        )
        user = build_user(
            checked,
            idp_entity_id=idp,
            mapping=self._mapping,
            now=now,
            session_lifetime=settings.session_lifetime,
        )
        replay.claim(idp, checked.assertion_id, checked.not_on_or_after + settings.clock_skew, now)
        return Authenticated(user=user)
