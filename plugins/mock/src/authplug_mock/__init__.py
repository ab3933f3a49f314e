"""authplug-mock: a development identity provider for authplug.

Configure ``provider = "mock"`` and every protected page redirects to
``/auth/mock/login``, a page listing the users of the ``[mock]`` config
table; clicking one logs you in as that user, with mock access and refresh
tokens that expire and refresh like a real provider's.

It is also the reference provider: read :mod:`authplug_mock.provider` first,
then :mod:`~authplug_mock.settings`, :mod:`~authplug_mock.routes`,
:mod:`~authplug_mock.login_page`, :mod:`~authplug_mock.tokens` and
:mod:`~authplug_mock.users`, and copy the layout for your own provider.
"""

from __future__ import annotations

from authplug_mock.provider import MockProvider
from authplug_mock.settings import MockSettings, MockUser

__all__ = ["MockProvider", "MockSettings", "MockUser"]
