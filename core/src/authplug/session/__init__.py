"""Encrypted, chunked session cookies and one login-flow cookie per login transaction.

The host uses :class:`SessionManager` (one per application); the rest is
exported for tools and tests:

* :class:`KeyRing`: AES-256-GCM keys, first seals, all open, key id in each value;
* :class:`SessionCodec`: seal/open with purpose-bound associated data;
* :class:`CookiePolicy`: cookie names, attributes and byte budgets;
* :class:`SessionData`: the sealed session payload;
* :class:`FlowTransactions`: login transactions in the flow cookie.
"""

from authplug.session.codec import SessionCodec
from authplug.session.cookie_policy import CookiePolicy
from authplug.session.flow import FlowTransactions
from authplug.session.keyring import KeyRing
from authplug.session.manager import SessionManager, SessionRead
from authplug.session.payload import SessionData

__all__ = [
    "CookiePolicy",
    "FlowTransactions",
    "KeyRing",
    "SessionCodec",
    "SessionData",
    "SessionManager",
    "SessionRead",
]
