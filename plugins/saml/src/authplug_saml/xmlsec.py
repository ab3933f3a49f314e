"""Find the ``xmlsec1`` binary pysaml2 verifies signatures with, and check its version.

pysaml2 runs the ``xmlsec1`` command-line tool (Debian/Ubuntu package
``xmlsec1``, Fedora ``xmlsec1-openssl``, Homebrew ``libxmlsec1``) for every
XML signature. Without it every login would fail at the first response, so
its absence (or a release older than :data:`MIN_VERSION`) is a start-up
:class:`~authplug.errors.ConfigError` naming the package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from authplug.errors import ConfigError

__all__ = ["MIN_VERSION", "find_xmlsec"]

MIN_VERSION = (1, 2, 30)
"""Oldest ``xmlsec1`` accepted (older releases are out of support)."""

_INSTALL = "install the xmlsec1 package (apt-get install xmlsec1)"
_VERSION = re.compile(rb"xmlsec1?\s+(\d+)\.(\d+)\.(\d+)")


def find_xmlsec(binary: Path | None) -> str:
    """The path of a usable ``xmlsec1``.

    :param binary: The configured path, or ``None`` to search ``PATH``.
    :raises ConfigError: not found, not runnable, or older than :data:`MIN_VERSION`.
    """
    if binary is None:
        found = shutil.which("xmlsec1")
        if found is None:
            raise ConfigError(f"saml: the xmlsec1 binary is not on PATH; {_INSTALL}")
        path = found
    else:
        path = str(binary)
        if not Path(path).is_file():
            raise ConfigError(f"saml.xmlsec_binary: {path} does not exist; {_INSTALL}")
    try:
        done = subprocess.run(  # noqa: S603 - a configured or PATH binary, fixed argument
            [path, "--version"], capture_output=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(
            f"saml: {path} --version failed ({type(exc).__name__}); {_INSTALL}"
        ) from None
    match = _VERSION.search(done.stdout + done.stderr)
    if done.returncode != 0 or match is None:
        raise ConfigError(f"saml: {path} is not a working xmlsec1; {_INSTALL}")
    version = tuple(int(part) for part in match.groups())
    if version < MIN_VERSION:
        wanted = ".".join(map(str, MIN_VERSION))
        raise ConfigError(
            f"saml: xmlsec1 {'.'.join(map(str, version))} is too old (need {wanted} or newer);"
            " upgrade the xmlsec1 package"
        )
    return path
