"""User stores: where signed-in users are remembered, never with their auth data.

Built-in stores are registered as ``authplug.stores`` entry points (``memory``,
``sqlite``) and chosen by the ``store`` setting; options come from
``store_options``.
"""

from authplug.stores.base import StoreError, UserRecord, UserStore

__all__ = ["StoreError", "UserRecord", "UserStore"]
