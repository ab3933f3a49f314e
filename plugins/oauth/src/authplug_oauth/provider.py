"""``OAuthProvider``: sign users in with OAuth 2.0 / OpenID Connect (authorization code + PKCE).

The flow, end to end:

1. **Login** (:meth:`OAuthProvider.authenticate`, from a protected request
   without a session or the core's ``/auth/login?return_to=`` entry point):
   a flow transaction (the core's per-transaction flow cookie) stores the PKCE
   ``S256`` verifier (256 bits), the nonce and the exact ``redirect_uri``; its
   id is the ``state``; the browser goes to the authorization endpoint. With
   ``response_mode = "form_post"`` the transaction's cookie is
   ``SameSite=None; Secure`` so the server's cross-site POST carries it.
2. **Callback** (:meth:`OAuthProvider.callback`, at ``redirect_path``): the
   parameters, each at most once; the ``state``'s transaction consumed (single
   use, consumed even when the callback then fails); an ``error`` answer; RFC
   9207 ``iss`` (checked when present, required when the server advertises it);
   the code exchanged with the stored ``redirect_uri`` and verifier
   (:mod:`~authplug_oauth.tokens`); the ID token
   (:mod:`~authplug_oauth.id_token`); UserInfo (:mod:`~authplug_oauth.userinfo`);
   the user mapped with the core's :class:`~authplug.claims.ClaimMapping`.
3. **Refresh** (:meth:`OAuthProvider.refresh`, when the access token nears
   ``expires_at``; the core runs one per session at a time): a new token set;
   a refreshed ID token must keep ``iss``/``sub``/``aud``; a missing new
   refresh token keeps the old one; ``invalid_grant`` ends the session; an
   unreachable server keeps it (a warning is logged and the refresh retried
   after ``unreachable_retry`` seconds) until the core's absolute lifetime.
4. **Logout** (:meth:`OAuthProvider.logout`): RFC 7009 revocation when offered,
   then RP-initiated logout at ``end_session_endpoint`` with ``id_token_hint``
   (or ``client_id``) and ``post_logout_redirect_uri``.

Every outbound call goes through :mod:`authplug.fetch` (total deadline, size
cap, no redirects); an unreachable server at login is a 503 naming its host.
``auth_data`` holds ``access_token``, ``expires_at``, ``refresh_token``, the
ID token only up to ``id_token_max_bytes`` (for logout) and the login's
``sub``/``aud`` (to check refreshed ID tokens); it lives only in the encrypted
session cookie. An ordinary request on an OAuth session calls no hook and
makes no request.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Final
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel

from authplug.claims import map_claims
from authplug.errors import (
    AuthplugError,
    ConfigError,
    ForceUserToReauthenticateError,
    NotAuthenticatedError,
    ProviderUnavailableError,
)
from authplug.fetch import FetchError, OutboundRequest, fetch_async
from authplug.models import AuthenticatedUser, StrMap
from authplug.provider import AuthProvider
from authplug.request import AuthRequest
from authplug.results import Authenticated, Redirect
from authplug.routes import Route
from authplug_oauth.callback import callback_parameters, safe_error_code
from authplug_oauth.errors import OAuthLoginError
from authplug_oauth.id_token import IdTokenValidator
from authplug_oauth.metadata import ServerMetadata, discovery_request, metadata_from, unavailable
from authplug_oauth.pkce import code_challenge, new_nonce, new_verifier
from authplug_oauth.settings import OAuthSettings
from authplug_oauth.tokens import TokenRefusedError, TokenSet, read_token_response, token_request
from authplug_oauth.userinfo import merge_claims, read_userinfo, userinfo_request

__all__ = ["OAuthProvider"]

_log = logging.getLogger("authplug_oauth")
_HOST: Final = re.compile(r"(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")

# auth_data keys (names, not secrets)
ACCESS_TOKEN: Final = "access_token"  # noqa: S105
REFRESH_TOKEN: Final = "refresh_token"  # noqa: S105
EXPIRES_AT: Final = "expires_at"
ID_TOKEN: Final = "id_token"  # noqa: S105
SUB: Final = "sub"
AUD: Final = "aud"
RETRY_AT: Final = "refresh_retry_at"

# flow transaction keys
_VERIFIER, _NONCE, _REDIRECT_URI = "v", "n", "r"


class OAuthProvider(AuthProvider[OAuthSettings, StrMap, StrMap]):
    """The OAuth 2.0 / OpenID Connect provider (entry point ``oauth``).

    :param settings: The validated ``[oauth]`` section.
    :param clock: Wall clock in seconds (tests may pass their own).
    :param monotonic: Monotonic clock for metadata and JWKS caching.
    :raises ConfigError: ``settings`` is not :class:`OAuthSettings`.
    :raises PluginLoadError: python-jose runs on a pure-Python backend.
    """

    settings_model: ClassVar[type[BaseModel]] = OAuthSettings

    def __init__(
        self,
        settings: BaseModel,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(settings, OAuthSettings):
            raise ConfigError(f"oauth: expected OAuthSettings, got {type(settings).__name__}")
        super().__init__(settings)
        self.oauth = settings
        self._clock = clock
        self._monotonic = monotonic
        self._metadata: ServerMetadata | None = None
        self._validator: IdTokenValidator | None = None
        self._fetched_at = float("-inf")
        if settings.issuer is None:
            self._install(metadata_from(settings, None))

    # -- the server ------------------------------------------------------------------

    def _install(self, metadata: ServerMetadata) -> None:
        previous = self._validator
        self._metadata = metadata
        if not self.oauth.is_oidc:
            self._validator = None
        elif (
            previous is None
            or self._metadata_jwks(previous) != metadata.jwks_uri
            or previous.allowed
            != frozenset(self.oauth.algorithms)
            & (frozenset(metadata.id_token_algorithms) or frozenset(self.oauth.algorithms))
        ):
            self._validator = IdTokenValidator(
                self.oauth, metadata, clock=self._clock, monotonic=self._monotonic
            )
        self._fetched_at = self._monotonic()

    @staticmethod
    def _metadata_jwks(validator: IdTokenValidator) -> str | None:
        return validator.remote.url if validator.remote is not None else None

    async def server(self) -> tuple[ServerMetadata, IdTokenValidator | None]:
        """The server's metadata (discovered and cached) and its ID token validator.

        A stale document whose refetch fails is kept (a warning is logged).

        :raises ProviderUnavailableError: discovery failed and nothing was
            fetched before, or the document is unacceptable.
        """
        metadata = self._metadata
        settings = self.oauth
        if settings.issuer is not None and (
            metadata is None or self._monotonic() - self._fetched_at >= settings.metadata_ttl
        ):
            try:
                response = await fetch_async(discovery_request(settings))
                if response.status != 200:
                    raise FetchError(response.host, f"answered HTTP {response.status}")
                document = response.json_object()
                self._install(metadata_from(settings, document))
            except (FetchError, ProviderUnavailableError) as exc:
                error = (
                    unavailable(exc, "OpenID Connect discovery")
                    if isinstance(exc, FetchError)
                    else exc
                )
                if metadata is None:
                    raise error from None
                _log.warning("keeping the previous discovery document: %s", error.message)
                self._fetched_at = self._monotonic()
        if self._metadata is None:  # pragma: no cover - issuer None installs at start-up
            raise ProviderUnavailableError("no server metadata", provider="oauth")
        return self._metadata, self._validator

    # -- login -------------------------------------------------------------------------

    def redirect_uri(self, request: AuthRequest) -> str:
        """The callback URL: the configured one, or built from the request's scheme and host.

        :raises OAuthLoginError: the ``Host`` header is not a plain host name.
        """
        if self.oauth.redirect_uri is not None:
            return self.oauth.redirect_uri
        host = request.host
        if _HOST.fullmatch(host) is None:
            raise OAuthLoginError("invalid_callback", detail="unusable Host header")
        scheme = "https" if request.scheme == "https" else "http"
        return f"{scheme}://{host}{request.root_path}{self.oauth.redirect_path}"

    async def authenticate(self, request: AuthRequest) -> Redirect:
        """Begin a login: store the transaction and send the browser to the server.

        :raises ProviderUnavailableError: discovery failed (503 naming the server).
        :raises NotAuthenticatedError: an API client (JSON, XHR, bearer) asked:
            it cannot follow a login (401 JSON, nothing begun), or the host
            offered no login transaction.
        """
        flow = request.flow
        if request.wants_json:
            # An API client cannot follow a login: 401, no transaction, no call to the server.
            raise NotAuthenticatedError("sign in through a browser first", code="login_required")
        if flow is None:
            raise NotAuthenticatedError("no login transaction available", code="no_flow")
        metadata, _ = await self.server()
        settings = self.oauth
        verifier = new_verifier()
        redirect_uri = self.redirect_uri(request)
        data = {_VERIFIER: verifier, _REDIRECT_URI: redirect_uri}
        nonce = new_nonce() if settings.is_oidc else None
        if nonce is not None:
            data[_NONCE] = nonce
        form_post = settings.response_mode == "form_post"
        state = flow.begin(data, cross_site=True) if form_post else flow.begin(data)
        params = dict(settings.authorization_params)
        params.update(
            response_type="code",
            client_id=settings.client_id,
            redirect_uri=redirect_uri,
            scope=" ".join(settings.scopes),
            state=state,
            code_challenge=code_challenge(verifier),
            code_challenge_method="S256",
        )
        if nonce is not None:
            params["nonce"] = nonce
        if form_post:
            params["response_mode"] = "form_post"
        endpoint = metadata.authorization_endpoint
        separator = "&" if urlsplit(endpoint).query else "?"
        return Redirect(location=f"{endpoint}{separator}{urlencode(params)}")

    def routes(self) -> Sequence[Route]:
        """The callback at ``redirect_path`` (GET for ``query``, POST for ``form_post``)."""
        method = "POST" if self.oauth.response_mode == "form_post" else "GET"
        return (Route(self.oauth.redirect_path, self.callback, frozenset({method})),)

    async def callback(self, request: AuthRequest) -> Authenticated:
        """Finish a login from the authorization response.

        :raises OAuthLoginError: any check failed (401, nothing kept).
        :raises ProviderUnavailableError: the server could not be reached or
            answered unusably (503 naming it).
        """
        try:
            return await self._callback(request)
        except OAuthLoginError as exc:
            _log.info("sign-in refused: %s%s", exc.code, f" ({exc.detail})" if exc.detail else "")
            raise

    async def _callback(self, request: AuthRequest) -> Authenticated:
        settings = self.oauth
        params = callback_parameters(request, form_post=settings.response_mode == "form_post")
        state = params.get("state", "")
        record = request.flow.consume(state) if request.flow is not None and state else None
        if "error" in params:
            raise OAuthLoginError("authorization_denied", detail=safe_error_code(params["error"]))
        if record is None:
            raise OAuthLoginError("invalid_state")
        metadata, validator = await self.server()
        if metadata.issuer is None:
            pass  # plain OAuth 2.0: no issuer identifier to compare an ``iss`` with
        elif "iss" in params:
            if params["iss"] != metadata.issuer:
                raise OAuthLoginError("invalid_iss")
        elif metadata.iss_parameter:
            raise OAuthLoginError("missing_iss")
        code = params.get("code", "")
        if not code:
            raise OAuthLoginError("missing_code")
        data = record.data
        tokens = await self._tokens(
            metadata,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": data.get(_REDIRECT_URI, ""),
                "code_verifier": data.get(_VERIFIER, ""),
            },
        )
        id_claims: dict[str, Any] | None = None
        if validator is not None and tokens.id_token is not None:
            id_claims = await validator.verify(
                tokens.id_token, nonce=data.get(_NONCE, ""), access_token=tokens.access_token
            )
        userinfo = await self._userinfo(metadata, tokens, id_claims)
        return Authenticated(user=self._user(merge_claims(id_claims, userinfo), tokens, id_claims))

    async def _tokens(self, metadata: ServerMetadata, form: dict[str, str]) -> TokenSet:
        request = token_request(self.oauth, metadata.token_endpoint, form)
        try:
            response = await fetch_async(request)
        except FetchError as exc:
            raise unavailable(exc, "the token request") from None
        return read_token_response(
            response,
            require_id_token=self.oauth.is_oidc and form["grant_type"] == "authorization_code",
            server=metadata.name,
        )

    async def _userinfo(
        self, metadata: ServerMetadata, tokens: TokenSet, id_claims: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        endpoint = metadata.userinfo_endpoint
        if endpoint is None or (id_claims is not None and not self.oauth.userinfo):
            return None
        try:
            response = await fetch_async(
                userinfo_request(self.oauth, endpoint, tokens.access_token)
            )
        except FetchError as exc:
            raise unavailable(exc, "the UserInfo request") from None
        expected = str(id_claims["sub"]) if id_claims is not None else None
        return read_userinfo(response, expected_sub=expected, server=metadata.name)

    def _auth_data(
        self,
        tokens: TokenSet,
        id_claims: Mapping[str, Any] | None,
        previous: Mapping[str, str] | None = None,
    ) -> StrMap:
        data: StrMap = {}
        if previous:
            data.update(previous)
        data[ACCESS_TOKEN] = tokens.access_token
        data.pop(RETRY_AT, None)
        if tokens.expires_in is not None:
            data[EXPIRES_AT] = str(int(self._clock()) + tokens.expires_in)
        else:
            data.pop(EXPIRES_AT, None)
        if tokens.refresh_token is not None:
            data[REFRESH_TOKEN] = tokens.refresh_token
        if tokens.id_token is not None:
            if len(tokens.id_token) <= self.oauth.id_token_max_bytes:
                data[ID_TOKEN] = tokens.id_token
            else:
                data.pop(ID_TOKEN, None)
        if id_claims is not None:
            data[SUB] = str(id_claims["sub"])
            aud = id_claims.get("aud")
            data[AUD] = " ".join(sorted([aud] if isinstance(aud, str) else map(str, aud or ())))
        return data

    def _user(
        self,
        claims: dict[str, Any],
        tokens: TokenSet,
        id_claims: Mapping[str, Any] | None,
    ) -> AuthenticatedUser[StrMap, StrMap]:
        mapping = self.oauth.claims
        user_id = claims.get(mapping.user_id)
        if type(user_id) is int:  # a plain OAuth 2.0 user API's numeric id (GitHub)
            claims[mapping.user_id] = str(user_id)
        try:
            return map_claims(claims, mapping, auth_data=self._auth_data(tokens, id_claims))
        except NotAuthenticatedError as exc:
            raise OAuthLoginError("invalid_claims", detail=exc.code) from None

    # -- a live session --------------------------------------------------------------

    def validate_user(
        self, request: AuthRequest, user: AuthenticatedUser[StrMap, StrMap]
    ) -> AuthenticatedUser[StrMap, StrMap] | None:
        """Nothing to re-check between refreshes (the tokens carry the session's validity)."""
        return None

    async def refresh(
        self, user: AuthenticatedUser[StrMap, StrMap]
    ) -> AuthenticatedUser[StrMap, StrMap]:
        """Exchange the refresh token for new tokens.

        :raises ForceUserToReauthenticateError: no refresh token, the server
            refused it (``invalid_grant``: revoked, expired, reused), or the
            refreshed ID token is invalid or describes another login.
        """
        auth_data: StrMap = dict(user.auth_data or {})
        refresh_token = auth_data.get(REFRESH_TOKEN)
        if not refresh_token:
            raise ForceUserToReauthenticateError(
                "the session has no refresh token", code="refresh_token_missing"
            )
        retry_at = auth_data.get(RETRY_AT)
        if retry_at is not None and _number(retry_at) > self._clock():
            return user
        try:
            metadata, validator = await self.server()
            tokens = await self._tokens(
                metadata, {"grant_type": "refresh_token", "refresh_token": refresh_token}
            )
        except ProviderUnavailableError as exc:
            return self._keep(user, auth_data, exc)
        except TokenRefusedError as exc:
            raise ForceUserToReauthenticateError(
                "the identity provider refused the refresh token", code=exc.error
            ) from None
        except OAuthLoginError as exc:
            raise ForceUserToReauthenticateError(
                "the identity provider's refresh response is invalid", code=exc.code
            ) from None
        id_claims = None
        if validator is not None and tokens.id_token is not None:
            previous = {"iss": metadata.issuer, SUB: auth_data.get(SUB), AUD: _aud(auth_data)}
            try:
                id_claims = await validator.verify(
                    tokens.id_token,
                    nonce=None,
                    access_token=tokens.access_token,
                    previous=previous,
                )
            except OAuthLoginError as exc:
                raise ForceUserToReauthenticateError(
                    "the refreshed ID token is invalid", code=exc.detail or exc.code
                ) from None
            except ProviderUnavailableError as exc:
                return self._keep(user, auth_data, exc)
        return user.model_copy(
            update={"auth_data": self._auth_data(tokens, id_claims, previous=auth_data)}
        )

    def _keep(
        self, user: AuthenticatedUser[StrMap, StrMap], auth_data: StrMap, exc: AuthplugError
    ) -> AuthenticatedUser[StrMap, StrMap]:
        """The server is unreachable: keep the session, retry after ``unreachable_retry``."""
        retry = self.oauth.unreachable_retry
        _log.warning(
            "refresh failed, keeping the session and retrying in %g s: %s", retry, exc.message
        )
        auth_data[RETRY_AT] = str(int(self._clock() + retry))
        return user.model_copy(update={"auth_data": auth_data})

    # -- logout -------------------------------------------------------------------------

    async def logout(
        self, request: AuthRequest, user: AuthenticatedUser[StrMap, StrMap] | None
    ) -> Redirect | None:
        """Revoke the tokens (RFC 7009) and send the browser to end its server session.

        :returns: The redirect to ``end_session_endpoint``, or ``None`` when the
            server offers none (local logout only).
        """
        auth_data = (user.auth_data if user is not None else None) or {}
        try:
            metadata, _ = await self.server()
        except ProviderUnavailableError as exc:
            _log.warning("logout at the identity provider skipped: %s", exc.message)
            return None
        if self.oauth.revoke_on_logout and metadata.revocation_endpoint is not None:
            for kind in (REFRESH_TOKEN, ACCESS_TOKEN):
                token = auth_data.get(kind)
                if token:
                    await self._revoke(metadata, metadata.revocation_endpoint, token, kind)
        endpoint = metadata.end_session_endpoint
        if endpoint is None:
            return None
        params = {"client_id": self.oauth.client_id}
        id_token = auth_data.get(ID_TOKEN)
        if id_token:
            params["id_token_hint"] = id_token
        after = self.oauth.post_logout_redirect_uri
        if after is not None:
            if after.startswith("/"):
                base = self.redirect_uri(request)
                parts = urlsplit(base)
                after = f"{parts.scheme}://{parts.netloc}{request.root_path}{after}"
            params["post_logout_redirect_uri"] = after
        separator = "&" if urlsplit(endpoint).query else "?"
        return Redirect(location=f"{endpoint}{separator}{urlencode(params)}", status=303)

    async def _revoke(self, metadata: ServerMetadata, endpoint: str, token: str, kind: str) -> None:
        request = token_request(self.oauth, endpoint, {"token": token, "token_type_hint": kind})
        try:
            response = await fetch_async(request)
        except FetchError as exc:
            _log.warning("token revocation at %s failed: %s", exc.host, exc.reason)
            return
        if response.status != 200:
            _log.warning("token revocation at %s answered HTTP %d", metadata.name, response.status)

    # -- authplug check -------------------------------------------------------------------

    async def check(self) -> Sequence[str]:
        """For ``authplug check``: discovery, JWKS, the features the settings need, clock skew."""
        problems: list[str] = []
        settings = self.oauth
        try:
            metadata, validator = await self.server()
        except ProviderUnavailableError as exc:
            return [exc.message]
        name = metadata.name
        if metadata.code_challenge_methods and "S256" not in metadata.code_challenge_methods:
            problems.append(
                f"{name} does not advertise PKCE S256 (code_challenge_methods_supported)"
            )
        if metadata.auth_methods and settings.auth_method not in metadata.auth_methods:
            problems.append(
                f"{name} does not support token_endpoint_auth_method {settings.auth_method!r} "
                f"(it offers {', '.join(metadata.auth_methods)})"
            )
        if (
            settings.response_mode == "form_post"
            and metadata.response_modes
            and "form_post" not in metadata.response_modes
        ):
            problems.append(f"{name} does not support response_mode 'form_post'")
        if validator is not None and validator.remote is not None:
            try:
                await validator.remote.fetch_async()
            except ProviderUnavailableError as exc:
                problems.append(exc.message)
        problems.extend(await self._clock_skew(metadata))
        return problems

    async def _clock_skew(self, metadata: ServerMetadata) -> list[str]:
        """Compare this machine's clock with the ``Date`` header of the server's answer."""
        url = (
            discovery_request(self.oauth).url
            if self.oauth.issuer is not None
            else metadata.token_endpoint
        )
        try:
            response = await fetch_async(
                OutboundRequest(
                    "GET", url, deadline=self.oauth.timeout, max_bytes=self.oauth.max_response_bytes
                )
            )
        except FetchError as exc:
            return [f"{exc.host}: {exc.reason}"]
        date = response.headers.get("date")
        if date is None:
            return []
        try:
            skew = self._clock() - parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            return []
        if abs(skew) > max(self.oauth.leeway, 1) + 1:
            return [
                f"this machine's clock differs from {metadata.name}'s by {skew:+.0f} s, "
                f"more than the leeway ({self.oauth.leeway} s): ID tokens will be refused"
            ]
        return []


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("-inf")


def _aud(auth_data: Mapping[str, str]) -> list[str] | None:
    raw = auth_data.get(AUD)
    return raw.split(" ") if raw else None
