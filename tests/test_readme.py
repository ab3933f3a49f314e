"""The README's first screen and its framework snippets, executed as a reader would paste them."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def snippet(heading: str) -> str:
    """The first ```python block after ``### heading``."""
    section = README.split(f"\n### {heading}\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, heading
    return match.group(1)


def run(code: str, name: str) -> dict[str, Any]:
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(code, f"README:{name}", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


@pytest.fixture(autouse=True)
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("AUTHPLUG_ENV", "AUTHPLUG_PROVIDER", "AUTHPLUG_STORE", "AUTHPLUG_CONFIG"):
        monkeypatch.delenv(var, raising=False)


def test_the_first_screen_is_still_the_two_commands() -> None:
    first_block = README.split("```bash\n", 1)[1].split("```", 1)[0]
    assert [line.split()[0] for line in first_block.strip().splitlines()] == [
        "./scripts/demo",
        "./scripts/test",
    ]
    assert README.index("./scripts/demo") < README.index("## What it does")


def test_the_readme_no_longer_says_django_has_wsgi_app() -> None:
    assert "Flask and Django use `authplug.wsgi.AuthMiddleware(app.wsgi_app)`" not in README


def _login_flow(get: Callable[..., Any], json_of: Callable[[Any], Any]) -> None:
    assert get("/me").status_code == 302
    assert get("/auth/mock/login?user=customer").status_code in (302, 303)
    assert json_of(get("/me"))["user"] == "customer"
    assert get("/admin").status_code == 403


@pytest.mark.anyio
async def test_starlette_fastapi_snippet() -> None:
    app = run(snippet("Starlette / FastAPI"), "readme_starlette")["app"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/me")).status_code == 302
        await client.get("/auth/mock/login?user=customer")
        assert (await client.get("/me")).json() == {"user": "customer"}
        assert (await client.get("/admin")).status_code == 403
        await client.get("/auth/mock/login?user=admin")
        assert (await client.get("/admin")).json() == {"ok": True}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_flask_snippet() -> None:
    app = run(snippet("Flask"), "readme_flask")["app"]
    try:
        client = app.test_client()
        _login_flow(client.get, lambda r: r.json)
        assert client.get("/me").json == {"user": "customer", "same": "customer"}
    finally:
        app.extensions["authplug"].close()


def test_django_snippet(django_settings: Callable[..., AbstractContextManager[None]]) -> None:
    namespace = run(snippet("Django"), "readme_django")
    from django.test import Client
    from django.urls import path

    namespace["urlpatterns"] = [path("me", namespace["me"]), path("admin", namespace["admin"])]
    with django_settings(
        ROOT_URLCONF="readme_django",
        MIDDLEWARE=namespace["MIDDLEWARE"],
        AUTHPLUG=namespace["AUTHPLUG"],
    ):
        client = Client()
        _login_flow(client.get, lambda r: r.json())
        assert client.get("/me").json() == {"user": "customer", "same": "customer"}
