"""Print the `--help` of every rxpanel command and subcommand, one after another, so
two versions of the CLI can be diffed (`python bench/cli_help_dump.py > a.txt`).

Each help is asked through main() as a user would (`rxpanel app add --help`), so what
is compared is the printed text, not the parser objects. The tree is walked from the
parser itself: a command added or removed shows up in the diff too."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys

os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: make it the same everywhere


def paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from paths(child, (*prefix, name))


def help_of(argv: list[str]) -> str:
    from rxpanel.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:
            code = e.code
    return f"$ rxpanel {' '.join(argv)}  -> exit {code}\n{out.getvalue()}{err.getvalue()}"


def main() -> None:
    from rxpanel.cli import build_parser

    for path in paths(build_parser()):
        sys.stdout.write(help_of([*path, "--help"]))
    # the one-line errors of a missing or unknown command, too
    for argv in ([], ["nope"], ["app"], ["rollback"]):
        sys.stdout.write(help_of(argv))


if __name__ == "__main__":
    main()
