"""authplug-jwt: authenticate each request from a bearer JWT (python-jose inside).

Select it with ``provider = "jwt"`` and configure the ``[jwt]`` section
(:class:`JwtSettings`). This module only re-exports; the loader imports it
(and so python-jose and httpx) only when ``jwt`` is the configured provider.
"""

from __future__ import annotations

from authplug.jose.errors import TokenRejectedError
from authplug_jwt.provider import JwtProvider
from authplug_jwt.settings import JwtSettings

__all__ = ["JwtProvider", "JwtSettings", "TokenRejectedError"]
