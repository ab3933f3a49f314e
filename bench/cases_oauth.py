"""OAuth row: the login callback against a hand-written floor, the IdP on loopback.

Subject: ``OAuthProvider.callback`` (the state's transaction consumed, the code
exchanged at the token endpoint through ``authplug.fetch``, the ID token
verified by ``authplug.jose`` with the nonce, the user mapped) plus sealing the
new session (``SessionManager.new_session`` + ``write``).

Floor: the same HTTP exchange written by hand (an ``httpx.AsyncClient`` per
exchange with a prepared TLS context, as the helper uses, the same form and
Basic credentials), ``jose.jwt.decode`` with the key prepared once and the same
nonce comparison, and the same session seal. The IdP is one loopback
``ThreadingHTTPServer`` answering both with the same pre-minted token response.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness import Plan, Row, measure, ratio_row

__all__ = ["run"]

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret-0123456789abcdef0123"
NONCE = "bench-nonce-0123456789abcdef0123456789abcdefghij"
REDIRECT = "https://app.bench.example/auth/callback"


class _Idp:
    """Discovery, JWKS and a token endpoint answering every code with one token response."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa
        from jose import jwk, jwt

        self.key = rsa.generate_private_key(65537, 2048)
        public = self.key.public_key().public_numbers()

        def b64(value: int) -> str:
            raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        self.public_jwk = {"kty": "RSA", "n": b64(public.n), "e": b64(public.e), "kid": "b1"}
        self.jose_key = jwk.construct(self.public_jwk, "RS256")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        from cryptography.hazmat.primitives import serialization

        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "user-1",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 3600,
            "nonce": NONCE,
            "given_name": "Ada",
        }
        id_token = jwt.encode(claims, pem.decode(), algorithm="RS256", headers={"kid": "b1"})
        self.token_body = json.dumps(
            {
                "access_token": "bench-access-token",
                "token_type": "Bearer",
                "expires_in": 3600,
                "refresh_token": "bench-refresh-token",
                "id_token": id_token,
            }
        ).encode()
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/jwks":
                    self._send(json.dumps({"keys": [idp.public_jwk]}).encode())
                else:
                    self._send(json.dumps(idp.document()).encode())

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                self._send(idp.token_body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler

    def document(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Flow:
    """A login transaction store holding one transaction per ``begin`` (the flow cookie's job)."""

    def __init__(self) -> None:
        self.records: dict[str, Any] = {}

    def begin(self, data: Mapping[str, str], *, cross_site: bool = False) -> str:
        txn = f"txn{len(self.records):019d}"
        self.records[txn] = dict(data)
        return txn

    def consume(self, txn_id: str) -> Any:
        from authplug.request import FlowRecord

        data = self.records.pop(txn_id, None)
        return None if data is None else FlowRecord(txn_id, data, "/")


def run(plan: Plan) -> list[Row]:
    """The callback row."""
    import anyio
    import httpx
    from jose import jwt

    from authplug.config import AuthplugConfig
    from authplug.fetch import tls_context
    from authplug.models import AuthenticatedUser
    from authplug.request import AuthRequest
    from authplug.results import Authenticated
    from authplug.session import SessionManager
    from authplug_oauth import OAuthProvider, OAuthSettings

    idp = _Idp()
    try:
        provider = OAuthProvider(
            OAuthSettings.model_validate(
                {
                    "issuer": idp.issuer,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uri": REDIRECT,
                    "userinfo": False,
                }
            )
        )
        manager = SessionManager(AuthplugConfig(cookie_keys=[_cookie_key()]))
        token_url = f"{idp.issuer}/token"
        basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()

        async def subject_batch(n: int) -> None:
            flow = _Flow()
            for _ in range(n):
                state = flow.begin({"v": "v" * 43, "n": NONCE, "r": REDIRECT})
                query = f"code=c&state={state}&iss={idp.issuer}".encode()
                request = AuthRequest("GET", "/auth/callback", query_string=query, flow=flow)
                result = await provider.callback(request)
                session = manager.new_session(result.user, time.time())
                manager.write(session, previous_chunk_count=0)

        async def floor_batch(n: int) -> None:
            tls = tls_context()
            for _ in range(n):
                form = {
                    "grant_type": "authorization_code",
                    "code": "c",
                    "redirect_uri": REDIRECT,
                    "code_verifier": "v" * 43,
                }
                async with httpx.AsyncClient(verify=tls, trust_env=False) as client:
                    response = await client.post(
                        token_url, data=form, headers={"authorization": basic}
                    )
                body = response.json()
                claims = jwt.decode(
                    body["id_token"],
                    idp.jose_key,
                    algorithms=["RS256"],
                    audience=CLIENT_ID,
                    issuer=idp.issuer,
                    access_token=body["access_token"],
                )
                if claims["nonce"] != NONCE:
                    raise RuntimeError("nonce")
                user: AuthenticatedUser[Any, Any] = AuthenticatedUser(
                    user_id=claims["sub"],
                    first_name=claims.get("given_name", ""),
                    user_type="external-user",
                    auth_data={
                        "access_token": body["access_token"],
                        "refresh_token": body["refresh_token"],
                        "expires_at": str(int(time.time()) + body["expires_in"]),
                        "id_token": body["id_token"],
                    },
                )
                session = manager.new_session(user, time.time())
                manager.write(session, previous_chunk_count=0)

        def subject(n: int) -> None:
            anyio.run(subject_batch, n)

        def floor(n: int) -> None:
            anyio.run(floor_batch, n)

        probe = anyio.run(
            provider.callback,
            AuthRequest(
                "GET",
                "/auth/callback",
                query_string=f"code=c&state=txn{0:019d}&iss={idp.issuer}".encode(),
                flow=_primed(),
            ),
        )
        if not isinstance(probe, Authenticated) or probe.user.user_id != "user-1":
            raise RuntimeError("the callback did not sign the user in")
        t = measure({"authplug": subject, "floor": floor}, plan)
        return [
            ratio_row(
                "OAuth callback (code exchange + ID token + session seal)",
                "OAuthProvider.callback + SessionManager seal, IdP on loopback",
                "httpx POST + python-jose jwt.decode + nonce + same seal",
                t["authplug"],
                t["floor"],
                1.25,
            )
        ]
    finally:
        idp.close()


def _primed() -> _Flow:
    flow = _Flow()
    flow.begin({"v": "v" * 43, "n": NONCE, "r": REDIRECT})
    return flow


def _cookie_key() -> str:
    import secrets

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
