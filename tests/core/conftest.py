"""Fixtures shared by the core test folders: the lifecycle test kit and its basics.

``tests/core/lifecycle/kit.py`` holds the in-test provider, the spying store
and cookie helpers; it is imported once, by path, under a unique module name,
and handed to tests through the ``kit`` fixture.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

KIT_MODULE = "authplug_tests_lifecycle_kit"


def load_kit() -> ModuleType:
    """Import ``lifecycle/kit.py`` once (later calls return the same module)."""
    module = sys.modules.get(KIT_MODULE)
    if module is None:
        path = Path(__file__).parent / "lifecycle" / "kit.py"
        spec = importlib.util.spec_from_file_location(KIT_MODULE, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[KIT_MODULE] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(name="kit")
def kit_fixture() -> ModuleType:
    """The shared test kit module (provider, store spy, helpers)."""
    return load_kit()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock(kit: ModuleType) -> Any:
    return kit.Clock()


@pytest.fixture
def keys(kit: ModuleType) -> list[str]:
    return [kit.make_key()]


@pytest.fixture
def store(kit: ModuleType) -> Any:
    return kit.SpyStore()


@pytest.fixture
def events(kit: ModuleType) -> Any:
    return kit.Events()
