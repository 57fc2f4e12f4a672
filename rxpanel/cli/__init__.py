"""The `rxpanel` command: the panel's powers for scripts and terminals.

On the panel host it works on the local database; with RXPANEL_URL and
RXPANEL_TOKEN set, the commands marked remote talk to a panel's HTTP API.
Every error is one line on stderr and a non-zero exit, never a traceback."""

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


def main(argv: list[str] | None = None) -> int:
    from rxpanel.client import RemoteCliError
    from rxpanel.deploy.remote import RemoteError
    from rxpanel.errors import Invalid, Refused
    from rxpanel.sandbox import SandboxError
    from rxpanel.secrets import SecretError
    from rxpanel.settings import SettingsError

    try:
        return run(build_parser().parse_args(argv))
    except (
        CliError,
        Refused,
        RemoteError,
        SandboxError,
        SecretError,
        SettingsError,
        RemoteCliError,
    ) as e:
        print(f"rxpanel: {e}", file=sys.stderr)
        # refused input exits 2; a failure (or a refusal by the panel's state) exits 1
        return EXIT_USAGE if isinstance(e, CliError | Invalid) else EXIT_FAILED
    except KeyboardInterrupt:
        print("rxpanel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        return 0
    except Exception as e:  # noqa: BLE001 - one clear line, not a traceback
        print(f"rxpanel: unexpected error: {e.__class__.__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED
