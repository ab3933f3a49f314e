"""authplug-header: identity from a trusted reverse proxy's headers (entry point ``header``)."""

from authplug_header.provider import HeaderProvider
from authplug_header.settings import HeaderSettings

__all__ = ["HeaderProvider", "HeaderSettings"]
