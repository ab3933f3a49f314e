"""Fixtures for the host tests: the lifecycle test kit (loaded by path), keys, clock, store."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def load_kit() -> ModuleType:
    """Import ``tests/core/lifecycle/kit.py`` once, under a unique module name."""
    name = "authplug_tests_lifecycle_kit"
    module = sys.modules.get(name)
    if module is None:
        path = Path(__file__).parent.parent / "lifecycle" / "kit.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


kit = load_kit()


@pytest.fixture(name="kit")
def kit_fixture() -> ModuleType:
    """The shared test kit module (provider, store spy, helpers)."""
    return kit


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> Any:
    return kit.Clock()


@pytest.fixture
def keys() -> list[str]:
    return [kit.make_key()]


@pytest.fixture
def store() -> Any:
    return kit.SpyStore()


@pytest.fixture
def events() -> Any:
    return kit.Events()
