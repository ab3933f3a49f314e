"""authplug-saml: a SAML 2.0 service provider (pysaml2 + the xmlsec1 binary), hardened.

Select it with ``provider = "saml"`` and configure the ``[saml]`` section
(:class:`SamlSettings`). This package only re-exports; the loader imports it
(and so pysaml2, about a second of imports) only when ``saml`` is the
configured provider. See docs/providers/saml.md.
"""

from __future__ import annotations

from authplug_saml.errors import SamlRejectedError
from authplug_saml.provider import SamlProvider
from authplug_saml.settings import SamlSettings

__all__ = ["SamlProvider", "SamlRejectedError", "SamlSettings"]
