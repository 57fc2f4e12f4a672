"""What every command shares: the one-line-error parser, output helpers, and
the audit record of what the local CLI changed."""

from __future__ import annotations

import argparse
import json

EXIT_FAILED, EXIT_USAGE = 1, 2


class CliError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        raise CliError(f"{message} (see `{self.prog} --help`)")


def sub(parent, name: str, **kw) -> argparse._SubParsersAction:
    """A command group (`rxpanel app ...`) with its own subcommands."""
    return parent.add_parser(name, **kw).add_subparsers(
        dest="sub", required=True, parser_class=Parser
    )


def actor():
    """The CLI on the panel host, as the use cases and the audit log know it."""
    from rxpanel.actions import Actor

    return Actor.cli()


def record(action: str, target: str = "", detail: str = "", outcome: str = "ok") -> None:
    """Audit what the CLI on the panel host did (it has the database, so it is trusted)."""
    from rxpanel import actions

    actions.record(actor(), action, target, outcome=outcome, detail=detail)


def print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def table(rows: list[list[str]], header: list[str]) -> None:
    rows = [header, *rows]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def remote(fn):
    """Mark a command that, with RXPANEL_URL set, runs against a remote panel."""

    def attach(remote_fn):
        fn.remote = remote_fn
        return remote_fn

    return attach
