"""The ``authplug`` command.

Subcommands:

* ``providers [--json]``: installed providers from entry-point metadata only
  (name, distribution, version, summary); no plugin is imported.
* ``check``: validate the configuration and the selected provider's settings,
  ask the provider to check its identity provider is reachable, reach the
  configured database (reporting its schema version) and coordination
  backend; exits 1 listing every problem. It changes nothing on disk: the
  default SQLite store's file and the ``sqlite`` coordination backend's file
  are checked if they exist, never created.
* ``migrate``: create or upgrade the schemas of the configured store and
  coordination backend (a PostgreSQL database is never migrated at start-up).
* ``keygen``: print a new random cookie key for ``AUTHPLUG_COOKIE_KEYS``;
  ``keygen --saml`` writes a self-signed key pair for a SAML service provider
  (``sp.key``, ``sp.crt``; see :mod:`authplug.sp_keypair`).
* ``new-provider NAME [--directory DIR]``: create ``authplug-NAME/``, a
  provider distribution that installs and passes the contract kit.
* ``demo [--host ADDR] [--port N]``: run the demo app (the configured
  provider, ``mock`` by default; SQLite store) on 127.0.0.1:8000; needs
  ``pip install 'authplug[demo]'``.
* ``--version``: the core's version and each installed provider's, from
  metadata only (no plugin is imported).

Module-level imports are kept to the standard library so ``providers`` and
``keygen`` start fast; everything else is imported by the subcommand using it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from authplug.coordination import Coordination
    from authplug.host import Host

__all__ = ["main"]

PROVIDER_GROUP = "authplug.providers"
DEMO_INSTALL_HINT = "pip install 'authplug[demo]'"


def _providers(as_json: bool, out: TextIO) -> int:
    from authplug.distributions import PROVIDER_GROUP, installed

    rows: list[dict[str, Any]] = [
        {
            "name": plugin.name,
            "distribution": plugin.distribution,
            "version": plugin.version,
            "summary": plugin.summary,
            "entry_point": plugin.value,
        }
        for name, candidates in sorted(installed(PROVIDER_GROUP).items())
        for plugin in candidates
    ]
    if as_json:
        import json

        out.write(json.dumps(rows, indent=2) + "\n")
        return 0
    if not rows:
        out.write("no providers installed (try `pip install authplug-mock`)\n")
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        out.write(
            f"{r['name']:<{width}}  {r['distribution'] or '?'} {r['version'] or '?'}"
            f"  {r['summary'] or ''}\n".rstrip(" ")
        )
    return 0


def _keygen(out: TextIO) -> int:
    import base64
    import secrets

    out.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=") + "\n")
    return 0


def _keygen_saml(directory: str, common_name: str, days: int, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from authplug.sp_keypair import make_sp_keypair, write_sp_keypair

    folder = Path(directory)
    key_path, cert_path = folder / "sp.key", folder / "sp.crt"
    try:
        write_sp_keypair(make_sp_keypair(common_name, days=days), key_path, cert_path)
    except (OSError, ValueError) as exc:
        err.write(f"authplug keygen --saml: {exc}\n")
        return 1
    out.write(
        f"wrote {key_path} (private, mode 0600) and {cert_path}\n"
        "[saml]\n"
        f'sp_key_file = "{key_path}"\n'
        f'sp_cert_file = "{cert_path}"\n'
    )
    return 0


def _check(out: TextIO, err: TextIO) -> int:
    import asyncio

    from authplug.errors import AuthplugError

    try:
        host, where = _load_without_writing()
    except AuthplugError as exc:
        err.write(f"authplug check: FAILED\n{exc.message}\n")
        return 1
    problems: list[str] = []
    try:
        problems.extend(asyncio.run(host.hooks.check()))
    except AuthplugError as exc:
        problems.append(exc.message)
    from authplug.backend_admin import check_backends

    backend_lines, backend_problems = check_backends(host)
    problems.extend(backend_problems)
    if where:  # the SQLite store was probed, not opened: say where it lives
        backend_lines = [
            f"store: {host.config.store} ({where})" if line.startswith("store: ") else line
            for line in backend_lines
        ]
    info = host.provider_info
    try:
        if problems:
            err.write("authplug check: FAILED\n" + "".join(f"  - {p}\n" for p in problems))
            return 1
        out.write(
            f"authplug check: OK\n  provider: {info.name} "
            f"({info.distribution or '?'} {info.version or '?'})\n"
            f"  env: {host.config.env}\n"
            + "".join(f"  {line}\n" for line in backend_lines)
            + f"  extensions: {', '.join(e.name for e in host.extensions) or 'none'}\n"
        )
        return 0
    finally:
        host.close()


def _load_without_writing() -> tuple[Host, str | None]:
    """Load the host as ``check`` needs it: SQLite files probed, never created.

    A check changes nothing on disk: the host is loaded with a throw-away
    in-memory store (so every configuration problem is still reported at
    once), and with ``store = "sqlite"`` the store's options and an existing
    file are checked by :func:`authplug.stores.sqlite.probe` instead of
    opening (and creating) the file. With ``coordination = "sqlite"`` the
    coordination file is likewise probed
    (:func:`authplug.coordination.sqlite.probe`) and the host holds a
    :class:`~authplug.coordination.probed.ProbedCoordination`. Any other store
    or backend is opened as the application would open it. Returns the host
    and where the SQLite store lives.
    """
    from authplug.errors import ConfigError
    from authplug.loader import load
    from authplug.stores.memory import MemoryUserStore
    from authplug.stores.sqlite import probe

    coordination = _probed_coordination()
    host = load(store=MemoryUserStore(), coordination=coordination)
    config = host.config
    if config.store != "sqlite":
        host.close()
        return load(coordination=coordination), None
    options: dict[str, Any] = dict(config.store_options)
    try:
        where = probe(**options)
    except TypeError:
        host.close()
        raise ConfigError(
            "store_options: not accepted by store 'sqlite' "
            f"(given: {', '.join(sorted(config.store_options)) or 'none'})"
        ) from None
    except BaseException:
        host.close()
        raise
    return host, where


def _probed_coordination() -> Coordination | None:
    """With ``coordination = "sqlite"``: the backend probed instead of opened, else ``None``.

    A bad coordination option is raised only after every other
    configuration problem (as opening the backend would be).
    """
    from authplug.coordination.probed import ProbedCoordination
    from authplug.coordination.sqlite import probe
    from authplug.errors import AuthplugError, ConfigError
    from authplug.loader import load, load_config
    from authplug.stores.memory import MemoryUserStore

    try:
        config, _ = load_config()
    except AuthplugError:
        return None  # load() reports every problem
    if config.coordination != "sqlite":
        return None
    try:
        description, lease_ttl = probe(**config.coordination_options)
    except ConfigError:
        stand_in = ProbedCoordination("sqlite", "", lease_ttl=10, shared=True)
        load(store=MemoryUserStore(), coordination=stand_in).close()
        raise
    return ProbedCoordination("sqlite", description, lease_ttl=lease_ttl, shared=True)


def _new_provider(name: str, directory: str, out: TextIO, err: TextIO) -> int:
    from pathlib import Path

    from authplug.scaffold import render

    try:
        target = render(name, Path(directory))
    except ValueError as exc:
        err.write(f"authplug new-provider: {exc}\n")
        return 1
    out.write(
        f"created {target}\n"
        f"next: cd {target} && pip install -e '.[test]' && pytest\n"
        f"then rewrite authenticate() in src/authplug_{name}/provider.py "
        "(guide: docs/writing-a-provider.md)\n"
    )
    return 0


def _migrate(out: TextIO, err: TextIO) -> int:
    from authplug.backend_admin import migrate_backends
    from authplug.errors import AuthplugError
    from authplug.loader import load_config

    try:
        config, _ = load_config()
        lines = migrate_backends(config)
    except AuthplugError as exc:
        err.write(f"authplug migrate: FAILED\n{exc.message}\n")
        return 1
    out.write("authplug migrate: OK\n" + "".join(f"  {line}\n" for line in lines))
    return 0


def _demo(bind: str, port: int, err: TextIO) -> int:
    from authplug.errors import AuthplugError

    try:
        from authplug.demo import run
    except ImportError as exc:  # authplug.demo imports Starlette when imported
        missing = (exc.name or "").partition(".")[0]
        if missing not in ("starlette", "uvicorn"):
            raise
        err.write(
            f"authplug demo: the demo needs Starlette and uvicorn ({missing} is not "
            f"installed): {DEMO_INSTALL_HINT}\n"
        )
        return 1
    try:
        run(bind, port)
    except AuthplugError as exc:
        err.write(f"authplug demo: {exc.message}\n")
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _version_text() -> str:
    """``authplug X`` then one line per installed provider, from metadata only."""
    import importlib.metadata as md

    try:
        core = md.version("authplug")
    except md.PackageNotFoundError:  # a source tree without metadata
        core = "unknown (not installed)"
    lines = [f"authplug {core}"]
    for ep in sorted(md.entry_points(group=PROVIDER_GROUP), key=lambda e: e.name):
        dist = ep.dist
        if dist is None:
            lines.append(f"  {ep.name}: ? (no distribution metadata)")
        else:
            lines.append(f"  {ep.name}: {dist.metadata['Name']} {dist.version}")
    if len(lines) == 1:
        lines.append("  no providers installed (pip install authplug-mock)")
    return "\n".join(lines) + "\n"


class _VersionAction(argparse.Action):
    """``--version``: print :func:`_version_text` and exit 0 (computed only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(_version_text())
        parser.exit(0)


def _port(text: str) -> int:
    """An ``argparse`` type: a TCP port number 0-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authplug", description="Swap your app's authentication by configuration."
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        help="print the core's version and each installed provider's, and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    providers = sub.add_parser("providers", help="list installed providers (imports none)")
    providers.add_argument("--json", action="store_true", help="machine-readable output")
    sub.add_parser("check", help="validate config and provider settings, check IdP reachability")
    keygen = sub.add_parser("keygen", help="print a new cookie encryption key")
    keygen.add_argument(
        "--saml",
        action="store_true",
        help="instead write a self-signed SAML SP key pair (sp.key, sp.crt) for development",
    )
    keygen.add_argument("--out", default=".", help="folder for --saml files (default .)")
    keygen.add_argument("--name", default="authplug-sp", help="--saml certificate common name")
    keygen.add_argument("--days", type=int, default=365, help="--saml certificate validity")
    scaffold = sub.add_parser(
        "new-provider", help="create a provider distribution that passes the contract kit"
    )
    scaffold.add_argument("name", help="provider name (the `provider` config value), e.g. acme")
    scaffold.add_argument(
        "--directory", default=".", help="where to create authplug-NAME/ (default: here)"
    )
    sub.add_parser(
        "migrate",
        help="create or upgrade the store's and coordination backend's schema (PostgreSQL "
        "is only ever migrated by this command)",
    )
    demo = sub.add_parser(
        "demo", help="run the demo app (configured provider, mock by default; SQLite store)"
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    demo.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="TCP port (default 8000; 0 picks a free one and prints it)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``authplug`` command; return its exit status."""
    args = _parser().parse_args(argv)
    if args.command == "providers":
        return _providers(args.json, sys.stdout)
    if args.command == "keygen":
        if args.saml:
            return _keygen_saml(args.out, args.name, args.days, sys.stdout, sys.stderr)
        return _keygen(sys.stdout)
    if args.command == "migrate":
        return _migrate(sys.stdout, sys.stderr)
    if args.command == "check":
        return _check(sys.stdout, sys.stderr)
    if args.command == "new-provider":
        return _new_provider(args.name, args.directory, sys.stdout, sys.stderr)
    if args.command == "demo":
        return _demo(args.host, args.port, sys.stderr)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
