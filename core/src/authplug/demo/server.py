"""Serve the demo with uvicorn."""

from __future__ import annotations

from authplug.errors import ConfigError

__all__ = ["run"]


def run(host_addr: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the demo app with uvicorn until interrupted.

    :param host_addr: Address to bind; the default keeps the demo local.
    :param port: TCP port.
    :raises ConfigError: uvicorn or Starlette is not installed.
    """
    try:
        import uvicorn
    except ImportError:
        raise ConfigError(
            'the demo needs uvicorn: pip install "authplug[demo]" authplug-mock'
        ) from None
    from authplug.demo.app import create_app
    from authplug.redaction import install_redaction

    install_redaction()
    app = create_app()
    print(f"authplug demo on http://{host_addr}:{port}/  (mock provider; Ctrl+C to stop)")
    uvicorn.run(app, host=host_addr, port=port, log_level="info")
