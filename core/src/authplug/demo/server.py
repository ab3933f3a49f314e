"""Serve the demo with uvicorn on a socket bound here, so a busy port is one clear error."""

from __future__ import annotations

import errno
import socket

from authplug.cli import DEMO_INSTALL_HINT
from authplug.errors import AuthplugError

__all__ = ["DemoStartError", "bind", "require_demo_dependencies", "run"]


class DemoStartError(AuthplugError):
    """The demo cannot start: a missing dependency, or a port it cannot listen on.

    The message is one line that names the fix.
    """

    code = "demo_start_failed"


def require_demo_dependencies() -> None:
    """Check Starlette and uvicorn can be imported.

    :raises DemoStartError: one of them is missing; the message is the install line.
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        missing = exc.name or "starlette"
        raise DemoStartError(
            f"the demo needs Starlette and uvicorn ({missing} is not installed): "
            f"{DEMO_INSTALL_HINT}"
        ) from None


def bind(host_addr: str, port: int) -> socket.socket:
    """Bind and listen on ``host_addr:port`` (``port`` 0: any free port).

    :raises DemoStartError: the port is taken, the address is not local, or
        binding is not permitted; one line naming the fix.
    """
    try:
        infos = socket.getaddrinfo(host_addr, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DemoStartError(f"--host {host_addr!r} is not an address this machine has") from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DemoStartError(
                f"port {port} on {host_addr} is already in use (is another demo running?); "
                f"pick another with --port, e.g. --port {port + 1 if 0 < port < 65535 else 8001}"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise DemoStartError(
                f"--host {host_addr!r} is not an address this machine has"
            ) from None
        if exc.errno == errno.EACCES:
            raise DemoStartError(
                f"not permitted to listen on port {port}; use a port above 1023 (--port 8000)"
            ) from None
        raise DemoStartError(f"cannot listen on {host_addr}:{port} ({exc.strerror})") from None
    return sock


def run(host_addr: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the demo app with uvicorn until interrupted.

    The socket is bound before the app is built, so a busy port fails at
    once; with ``port=0`` the line printed names the port actually chosen.

    :param host_addr: Address to bind; the default keeps the demo local.
    :param port: TCP port (0: any free one).
    :raises DemoStartError: uvicorn or Starlette is not installed, or the
        port cannot be bound.
    :raises ConfigError: the configuration is invalid.
    """
    require_demo_dependencies()
    import uvicorn

    from authplug.demo.app import create_app
    from authplug.redaction import install_redaction

    sock = bind(host_addr, port)
    try:
        install_redaction()
        app = create_app()
        shown = sock.getsockname()[1]
        url_host = f"[{host_addr}]" if ":" in host_addr else host_addr
        print(
            f"authplug demo on http://{url_host}:{shown}/  "
            f"({app.state.provider_name} provider; Ctrl+C to stop)",
            flush=True,
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="info"))
        server.run(sockets=[sock])
    finally:
        sock.close()
