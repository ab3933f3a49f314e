"""authplug-oauth: sign users in with OAuth 2.0 / OpenID Connect.

Select it with ``provider = "oauth"`` and configure the ``[oauth]`` section
(:class:`OAuthSettings`). This module only re-exports; the loader imports it
(and so python-jose and httpx) only when ``oauth`` is the configured provider.
"""

from __future__ import annotations

from authplug_oauth.errors import OAuthLoginError
from authplug_oauth.provider import OAuthProvider
from authplug_oauth.settings import OAuthSettings

__all__ = ["OAuthLoginError", "OAuthProvider", "OAuthSettings"]
