"""Hook dispatch: one provider hook call through pluggy and ``HookCalls``, against
a direct method call on the same provider object.
"""

from __future__ import annotations

from typing import Any

from harness import Plan, Row, measure

__all__ = ["LIMIT_US", "run"]

LIMIT_US = 3.0


def _provider() -> Any:
    from authplug.models import StrMap
    from authplug.provider import AuthProvider, NoSettings
    from authplug.results import Redirect

    class TinyProvider(AuthProvider[NoSettings, StrMap, StrMap]):
        """A provider whose methods do nothing, so only dispatch is timed."""

        def authenticate(self, request: Any) -> Redirect:
            return Redirect(location="/login")

        def validate_user(self, request: Any, user: Any) -> None:
            return None

        def refresh(self, user: Any) -> Any:
            return user

    return TinyProvider(NoSettings())


def _drive(coro: Any) -> Any:
    """Run a coroutine that never suspends (synchronous hook impls) without a loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("the hook call suspended: an async implementation?")


def run(plan: Plan) -> list[Row]:
    """The hook dispatch rows: raw pluggy and ``HookCalls.validate``."""
    import secrets

    from workload import bench_config

    from authplug.host import build_host
    from authplug.models import AuthenticatedUser
    from authplug.request import AuthRequest

    provider = _provider()
    host = build_host(provider, bench_config(secrets.token_bytes(32)))
    request = AuthRequest(method="GET", path="/api/me")
    user = AuthenticatedUser[dict[str, str], dict[str, str]](
        user_id="u1", user_type="internal-user"
    )
    hook = host.plugin_manager.hook.authplug_validate
    hooks = host.hooks
    if _drive(hooks.validate(request, user)) is not None:
        raise RuntimeError("HookCalls.validate should answer None")

    def direct(n: int) -> None:
        validate = provider.validate_user
        for _ in range(n):
            validate(request, user)

    def pluggy_call(n: int) -> None:
        for _ in range(n):
            hook(request=request, user=user)

    def hookcalls(n: int) -> None:
        validate = hooks.validate
        for _ in range(n):
            _drive(validate(request, user))

    t = measure({"hookcalls": hookcalls, "pluggy": pluggy_call, "direct": direct}, plan)
    rows = []
    for name, measured in (
        ("pluggy", "pm.hook.authplug_validate(request=, user=) (firstresult, one impl)"),
        ("hookcalls", "HookCalls.validate: pluggy call + await-maybe + result check"),
    ):
        added = t[name].median_us - t["direct"].median_us
        rows.append(
            Row(
                figure=f"hook dispatch ({name})",
                measured=measured,
                baseline="direct provider.validate_user(request, user)",
                subject=t[name].median_us,
                base=t["direct"].median_us,
                ratio=t[name].median_ns / t["direct"].median_ns,
                target=f"<= {LIMIT_US:g} us",
                passed=t[name].median_us <= LIMIT_US,
                note=f"dispatch adds {added:.2f} us; best {t[name].best_us:.2f} us",
                extra={"added_us": added, "best_us": t[name].best_us},
            )
        )
    return rows
