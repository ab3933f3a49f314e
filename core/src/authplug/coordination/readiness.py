"""``Readable``: a cheap "has this socket data?" for the revocation catch-up.

The lifecycle asks it before every session check (through a backend's
``catch_up``), so it must cost next to nothing: an ``epoll`` registered once
where there is one (Linux: one system call, safe to ask from several threads
at once), else ``select``.
"""

from __future__ import annotations

import select
import socket

__all__ = ["Readable"]


class Readable:
    """Whether a socket has data to read, asked with a zero or bounded timeout.

    An ``epoll`` registered once where there is one (Linux: the cheapest
    look, and safe to ask from several threads at once), else ``select``.
    """

    def __init__(self, sock: socket.socket | int) -> None:
        self._sock = sock
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        if self._epoll is not None:
            fd = sock if isinstance(sock, int) else sock.fileno()
            self._epoll.register(fd, select.EPOLLIN)

    def __call__(self, timeout: float) -> bool:
        """Whether data waits, looking for at most ``timeout`` seconds."""
        if self._epoll is not None:
            return bool(self._epoll.poll(timeout))
        return bool(select.select([self._sock], [], [], timeout)[0])

    def close(self) -> None:
        """Release the ``epoll`` (not the socket)."""
        if self._epoll is not None:
            self._epoll.close()
