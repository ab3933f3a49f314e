"""Remembered "valid, nothing to do" verdicts, keyed by the exact Cookie header.

The hot path of a session request (:meth:`Lifecycle.fast_user
<authplug.lifecycle.Lifecycle.fast_user>`) asks the one classifier,
:meth:`Lifecycle.classify_cookie <authplug.lifecycle.Lifecycle.classify_cookie>`,
once per Cookie header value and keeps its answer here while it cannot
change: the classifier's answer for the same header bytes depends only on
the time (lifetimes, refresh margin, validation interval, touch interval),
on revocation and, for access rules, on the path. So an entry holds the
user, the session id and the time window ``[earliest, until)`` in which the
classifier would say ``VALID`` (or ``DENIED``, for a path a rule refuses); a
hit re-checks the window, revocation and the access rules on every request.
Outside the window (or on any doubt) the classifier decides again.

* Keyed by the whole header value as the host received it (``bytes`` from
  ASGI, ``str`` from WSGI), so a hit costs one dictionary lookup: no cookie
  parsing, no base64, no decryption, no model validation.
* Bounded (``session_cache_size`` entries, oldest dropped first) and off when
  the opened-session cache is off, so "cache off" means both.
* Holds what the cookie holds, in this process's memory only.
* Revocation keys on the inner session id, never on the raw cookie string
  (``SECURITY.md``, non-canonical encodings): a variant spelling of a cookie
  is a different key here, a miss, judged afresh; a hit is checked against
  the revoked ids by the session id it carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

if TYPE_CHECKING:
    from authplug.bounded_map import BoundedMap
    from authplug.models import AuthenticatedUser

__all__ = ["ValidVerdict", "VerdictCache"]

VerdictCache: TypeAlias = "BoundedMap[bytes | str, ValidVerdict]"
"""Cookie header value -> the verdict remembered for it (see the module docstring)."""


class ValidVerdict(NamedTuple):
    """A session the classifier found valid, and until when that holds.

    Attributes:
        user: The session's user.
        sid: The session id (revocation is checked on every hit).
        earliest: First instant (epoch seconds) the answer holds (no
            timestamp of the session lies beyond the accepted clock skew).
        until: First instant it no longer holds: the earliest of the idle
            and absolute ends, the refresh margin, the validation interval
            and the touch interval.
    """

    user: AuthenticatedUser[Any, Any]
    sid: str
    earliest: float
    until: float
