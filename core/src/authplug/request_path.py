"""The request path check: access rules judge exactly the path the router dispatches.

Access rules match a path prefix; the application's router dispatches on the
path the server hands it (ASGI ``scope["path"]``, WSGI ``PATH_INFO``, both
already percent-decoded). If the two read one request differently, a user
without the role reaches a handler under a protected prefix: ``/admin/..``
is "below ``/admin``" for a router matching ``/admin/{rest:path}`` literally
and "the root" for a normaliser. The same holds for every spelling a
normaliser and a router may treat differently, so such a path is refused
(400) before any decision, and every path that is accepted is one that
normalising would not change (:func:`authplug.access.normalize_path` returns
it as is, up to a trailing slash): the rules and the router see one path.

Refused, each for the reason named by its :class:`PathProblem`:

* not starting with ``/`` (absolute-form targets, ``*``);
* ``.`` or ``..`` segments, however spelt (``/a/..``, ``/a/./b``,
  ``%2e%2e``, ``.%2e``): RFC 3986 resolves them, routers match them as text;
* empty segments (``//admin``, ``/admin//x``): Litestar collapses them and
  Werkzeug redirects, Starlette matches them as text; a trailing single
  ``/`` is fine;
* backslashes (``\\``, ``%5c``): some servers and proxies read them as ``/``;
* encoded separators in the raw path (``%2f``, ``%5c``): a proxy or router
  working on the raw path sees one segment where the decoded path has two;
* control, format and separator characters (NUL, CR, LF, tab, DEL, C1
  controls, zero-width and bidi marks, non-breaking and other non-ASCII
  spaces): invisible, and stripped or split on by some components;
* characters whose Unicode compatibility form (NFKC) adds a separator or a
  dot segment (fullwidth solidus U+FF0F, two fullwidth full stops U+FF0E,
  the two-dot leader U+2025): a component that normalises Unicode would see
  another path.

Accepted and matched literally (the rules and every router the project tests
with, Starlette, FastAPI, Litestar and Flask, agree on them): ``;``
parameters (``/admin;x``, which is not below ``/admin``), trailing dots in a
segment (``/admin.``), segments of three or more dots, ``%25`` (a literal
``%`` after decoding), letter case (all four routers are case-sensitive, as
the rules are), and look-alike letters (``/admin`` spelt with a fullwidth ``a``
is not ``/admin`` for anyone).

This module does no I/O: :func:`path_problem` answers for a path, and
:func:`refusal` builds the 400 a host sends.
"""

from __future__ import annotations

import enum
import unicodedata

from authplug.errors import AuthplugError
from authplug.request import AuthRequest
from authplug.responses import Respond, StatusResponses

__all__ = ["AmbiguousPathError", "PathProblem", "check_request_path", "path_problem", "refusal"]


class PathProblem(enum.Enum):
    """Why a request path is refused (the value is the machine-readable reason)."""

    NOT_ABSOLUTE = "not_absolute"
    """The path does not start with ``/``."""
    DOT_SEGMENT = "dot_segment"
    """A ``.`` or ``..`` segment (also when percent-encoded)."""
    EMPTY_SEGMENT = "empty_segment"
    """Two slashes in a row."""
    BACKSLASH = "backslash"
    """A ``\\`` (also when percent-encoded)."""
    ENCODED_SEPARATOR = "encoded_separator"
    """``%2f`` or ``%5c`` in the raw path."""
    CONTROL_CHARACTER = "control_character"
    """A control, format or non-ASCII separator character."""
    LOOKALIKE_SEPARATOR = "lookalike_separator"
    """A character whose compatibility form is a separator or a dot segment."""


class AmbiguousPathError(AuthplugError):
    """A request path that a normaliser and a router could read differently (400)."""

    code = "ambiguous_path"
    status = 400

    def __init__(self, problem: PathProblem) -> None:
        super().__init__(f"the request path is refused: {problem.value}")
        self.problem = problem


def _structure_problem(path: str) -> PathProblem | None:
    """Dot segments, empty segments and backslashes in a decoded path."""
    if "//" in path:
        return PathProblem.EMPTY_SEGMENT
    if "\\" in path:
        return PathProblem.BACKSLASH
    if "/." in path:
        for segment in path.split("/"):
            if segment in (".", ".."):
                return PathProblem.DOT_SEGMENT
    return None


def _raw_problem(raw_path: bytes | str) -> PathProblem | None:
    """Encoded separators in the raw (undecoded) path; its query string is ignored."""
    if isinstance(raw_path, str):
        if "%" not in raw_path:
            return None
        raw = raw_path
    elif b"%" not in raw_path:
        return None
    else:
        raw = raw_path.decode("latin-1")
    lowered = raw.partition("?")[0].lower()
    if "%2f" in lowered:
        return PathProblem.ENCODED_SEPARATOR
    if "%5c" in lowered:
        return PathProblem.BACKSLASH
    return None


def path_problem(path: str, raw_path: bytes | str | None = None) -> PathProblem | None:
    """Why ``path`` must be refused, or ``None`` when the rules may judge it as it is.

    :param path: The decoded path the router dispatches on (inside the
        application: ASGI ``path`` minus ``root_path``, WSGI ``PATH_INFO``
        decoded as UTF-8).
    :param raw_path: The path as received, before percent-decoding (ASGI
        ``raw_path``, a WSGI server's ``RAW_URI``/``REQUEST_URI``), when the
        host has it; a query string in it is ignored.
    """
    if not path.startswith("/"):
        return PathProblem.NOT_ABSOLUTE
    problem = _structure_problem(path)
    if problem is not None:
        return problem
    if not path.isprintable():
        return PathProblem.CONTROL_CHARACTER
    if not path.isascii():
        compatible = unicodedata.normalize("NFKC", path)
        if compatible.count("/") != path.count("/") or _structure_problem(compatible) is not None:
            return PathProblem.LOOKALIKE_SEPARATOR
    if raw_path is not None:
        return _raw_problem(raw_path)
    return None


def check_request_path(path: str, raw_path: bytes | str | None = None) -> str:
    """Return ``path`` when the rules may judge it as it is.

    :raises AmbiguousPathError: with the :class:`PathProblem` otherwise.
    """
    problem = path_problem(path, raw_path)
    if problem is not None:
        raise AmbiguousPathError(problem)
    return path


def refusal(request: AuthRequest, responses: StatusResponses) -> Respond:
    """The 400 a host answers a refused path with (JSON or a page; the path is not echoed)."""
    return responses.status(
        request,
        400,
        AmbiguousPathError.code,
        "Bad request",
        "The request path is ambiguous (dot or empty segments, backslashes, encoded "
        "separators or control characters) and was refused.",
    )
