"""The embedded demo: a small Starlette app behind authplug (``authplug demo``).

It uses the configured provider (``mock`` unless ``AUTHPLUG_PROVIDER`` or
``authplug.toml`` names another) and a SQLite user store under ``./.authplug-demo/``
and shows what authplug hands an application: the signed-in user, the view
tools get, the view an agent gets, the session cookie's size against its
budget, and an ``/admin`` page guarded by an access rule.

Starlette (and uvicorn, for :func:`run`) are optional dependencies of the
core: ``pip install "authplug[demo]" authplug-mock``. Only this package
imports them.
"""

from authplug.demo.app import DEMO_ACCESS, create_app, demo_host
from authplug.demo.server import run

__all__ = ["DEMO_ACCESS", "create_app", "demo_host", "run"]
