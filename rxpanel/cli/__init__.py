"""The `rxpanel` command: the panel's powers for scripts and terminals.

On the panel host it works on the local database; with RXPANEL_URL and
RXPANEL_TOKEN set, the commands marked remote talk to a panel's HTTP API.
Every error is one line on stderr and a non-zero exit, never a traceback.

It starts fast: building the parser imports the command modules, and they import
only argparse-level things at the top; each command imports what it uses when it
runs (tests/unit/test_cli_imports.py keeps it so)."""

from __future__ import annotations

import sys

from rxpanel.cli import apps, deploys, doctor, health, servers, system, team
from rxpanel.cli.common import EXIT_FAILED, EXIT_USAGE, CliError, Parser

MODULES = (servers, apps, deploys, doctor, health, team, system)


def build_parser() -> Parser:
    parser = Parser(prog="rxpanel", description="Deploy Reflex apps to your servers.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in MODULES:
        module.register(commands)
    return parser


def run(args) -> int:
    from rxpanel import client

    if client.configured() and not getattr(args, "local_only", False):
        remote = getattr(args.func, "remote", None)
        if remote is None:
            raise CliError(
                f"`rxpanel {args.command}` works on the panel host only "
                "(unset RXPANEL_URL to use the local database)"
            )
        return remote(args, client.Panel())
    if not getattr(args, "no_db", False):
        from rxpanel import db

        db.upgrade()
    return args.func(args)


# The errors that are one line, not a traceback, by the module that defines them. The
# heavy ones (fabric, cryptography) are looked up only when that module was imported:
# an error of a module that was never imported cannot have been raised.
ONE_LINE_ERRORS = (
    ("rxpanel.cli.common", "CliError"),
    ("rxpanel.errors", "Refused"),
    ("rxpanel.deploy.remote", "RemoteError"),
    ("rxpanel.sandbox.model", "SandboxError"),
    ("rxpanel.secrets", "SecretError"),
    ("rxpanel.settings", "SettingsError"),
    ("rxpanel.client", "RemoteCliError"),
)


def _one_line(e: Exception) -> bool:
    return any(
        module in sys.modules and isinstance(e, getattr(sys.modules[module], name))
        for module, name in ONE_LINE_ERRORS
    )


def main(argv: list[str] | None = None) -> int:
    from rxpanel.errors import Invalid

    try:
        return run(build_parser().parse_args(argv))
    except KeyboardInterrupt:
        print("rxpanel: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one clear line, not a traceback
        if _one_line(e):
            print(f"rxpanel: {e}", file=sys.stderr)
            # refused input exits 2; a failure (or a refusal by the panel's state) exits 1
            return EXIT_USAGE if isinstance(e, CliError | Invalid) else EXIT_FAILED
        if isinstance(e, BrokenPipeError):  # the reader went away (`| head`): nothing more to say
            return 0
        print(f"rxpanel: unexpected error: {e.__class__.__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED
