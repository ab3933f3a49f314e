"""The workload every session row shares: one realistic user, one host, one cookie.

The user serialises to about 1.5 KB of JSON (an access token shaped like a
JWT, a refresh token, custom data, roles), the size the floor figures in
``/work/shared/PERFORMANCE.md`` were measured at. The host is built around
the mock provider with a fixed cookie key, the way ``authplug.load`` would
build it, but without reading any file or environment.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from typing import Any

from floor import RawCodec

from authplug.config import AuthplugConfig
from authplug.host import Host, PluginInfo, build_host
from authplug.models import AuthenticatedUser
from authplug.session import SessionData

__all__ = ["Workload", "bench_config", "make_user", "make_workload", "mock_provider"]

USER_ID = "bench-user"
ROLES = ("pika:content-admin", "pika:reader", "pika:history", "pika:instruction")
FEATURES = ("instruction", "history")
CUSTOM = {"company": "Example Corporation GmbH", "locale": "de-DE", "tenant": "t-000123"}


def make_user(now: float) -> AuthenticatedUser[dict[str, str], dict[str, str]]:
    """A user whose JSON is about 1.5 KB, tokens valid for a day."""
    access = ".".join(
        secrets.token_urlsafe(n) for n in (48, 540, 192)
    )  # header.payload.signature of a typical RS256 access token
    return AuthenticatedUser[dict[str, str], dict[str, str]](
        user_id=USER_ID,
        first_name="Ada",
        last_name="Lovelace",
        user_type="internal-user",
        roles=ROLES,
        custom_data=dict(CUSTOM),
        auth_data={
            "access_token": access,
            "refresh_token": secrets.token_urlsafe(64),
            "expires_at": str(int(now) + 86400),
            "refresh_expires_at": str(int(now) + 7 * 86400),
        },
        features=FEATURES,
    )


def mock_provider() -> object:
    """The mock provider with the bench user configured."""
    from authplug_mock.provider import MockProvider
    from authplug_mock.settings import MockSettings, MockUser

    settings = MockSettings(
        users=[
            MockUser(
                user_id=USER_ID,
                first_name="Ada",
                last_name="Lovelace",
                user_type="internal-user",
                roles=list(ROLES),
                custom_data=dict(CUSTOM),
                features=list(FEATURES),
            )
        ]
    )
    return MockProvider(settings)


@dataclass
class Workload:
    """Everything a session row needs.

    Attributes:
        host: An authplug host (mock provider, memory store, fixed key).
        key: The raw cookie key.
        session: A fresh session for the bench user.
        cookies: ``name=value`` pairs of the sealed session, as a Cookie header.
        sealed: The sealed value of chunk 0 without its count prefix (bytes).
        raw: The floor's codec for the same key, purpose and model.
        first_chunk: Name of chunk 0 (``authplug_session.0``).
    """

    host: Host
    key: bytes
    session: SessionData
    cookies: str
    sealed: bytes
    raw: RawCodec
    first_chunk: str

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """ASGI header pairs of a browser API request carrying the session."""
        return [
            (b"host", b"127.0.0.1:8000"),
            (b"accept", b"application/json"),
            (b"user-agent", b"authplug-bench/1"),
            (b"cookie", b"theme=dark; " + self.cookies.encode("latin-1") + b"; _ga=GA1.2.3"),
        ]


def bench_config(key: bytes, **config: Any) -> AuthplugConfig:
    """Development configuration with ``key`` as the only cookie key and a memory store."""
    text = base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")
    return AuthplugConfig(cookie_keys=[text], store="memory", **config)


def make_workload(**config: Any) -> Workload:
    """Build the host and seal a fresh session for the bench user (one chunk)."""
    key = secrets.token_bytes(32)
    # Long idle timeout and validation interval: the steady state being
    # measured is "nothing due", for the whole run (the socket rows last
    # minutes). A browser's once-a-minute re-seal costs what the "session
    # write" row shows; a client that ignored Set-Cookie would pay it on
    # every request once the session is a minute old.
    cfg = bench_config(key, **{"idle_timeout": 24 * 3600, "validate_interval": 3600, **config})
    host = build_host(mock_provider(), cfg, provider_info=PluginInfo(name="mock"))
    now = time.time()
    session = host.sessions.new_session(make_user(now), now)
    written = host.sessions.write(session)
    if len(written) != 1:
        raise RuntimeError(f"the bench session should fit one cookie, got {len(written)}")
    cookie = written[0]
    value = cookie.value.encode("ascii")
    sealed = value[value.index(b"~") + 1 :]
    purpose = f"session:{host.sessions.cookie_name}"
    ad = b"authplug\x00\x01\x00" + purpose.encode("utf-8")
    prefix = base64.urlsafe_b64decode(sealed[:8] + b"==")[:5]
    raw = RawCodec(key, ad, SessionData, prefix)
    if raw.open(sealed) != session:
        raise RuntimeError("the floor codec does not open authplug's cookie: layout changed?")
    return Workload(
        host=host,
        key=key,
        session=session,
        cookies=f"{cookie.name}={cookie.value}",
        sealed=sealed,
        raw=raw,
        first_chunk=cookie.name,
    )
