"""The IdP metadata document: read from a file or inline XML, checked before pysaml2 reads it.

The document must be UTF-8 XML without any DOCTYPE or entity declaration
(pysaml2 parses metadata with defusedxml as well; refusing here gives an
error that names the setting) and at most ``idp_metadata.max_bytes`` long.
"""

from __future__ import annotations

from authplug.errors import ConfigError
from authplug_saml.settings import IdpMetadataSource

__all__ = ["checked_metadata", "read_metadata"]


def checked_metadata(document: bytes, where: str, max_bytes: int) -> str:
    """``document`` as text, when it is acceptable metadata.

    :param document: The raw bytes.
    :param where: The setting it came from, for messages (``idp_metadata.file``).
    :param max_bytes: Largest size accepted.
    :raises ConfigError: too large, not UTF-8, or with a DOCTYPE/ENTITY.
    """
    if len(document) > max_bytes:
        raise ConfigError(f"saml.{where}: the IdP metadata is larger than {max_bytes} bytes")
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"saml.{where}: the IdP metadata is not UTF-8") from None
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise ConfigError(f"saml.{where}: the IdP metadata contains a DOCTYPE; refused")
    return text.removeprefix("\ufeff")


def read_metadata(source: IdpMetadataSource) -> str:
    """The metadata of a ``file`` or ``xml`` source.

    :raises ConfigError: unreadable, too large, not UTF-8, or with a DOCTYPE.
    """
    if source.xml is not None:
        return checked_metadata(source.xml.encode("utf-8"), "idp_metadata.xml", source.max_bytes)
    if source.file is not None:
        try:
            with source.file.open("rb") as handle:
                document = handle.read(source.max_bytes + 1)
        except OSError as exc:
            raise ConfigError(
                f"saml.idp_metadata.file: cannot read {source.file} ({exc.strerror})"
            ) from None
        return checked_metadata(document, "idp_metadata.file", source.max_bytes)
    raise ConfigError("saml.idp_metadata: a url source is fetched, not read")
