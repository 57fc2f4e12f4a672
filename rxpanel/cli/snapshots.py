"""`rxpanel db snapshots APP`, `rxpanel db restore APP SNAPSHOT`: the copies of an
app's SQLite databases taken before each migration."""

from __future__ import annotations

from rxpanel.cli.common import CliError, print_json, record, table


def _app(name: str):
    from rxpanel.services import apps

    return apps.get(name)


def snapshots(a) -> int:
    from rxpanel.worker.snapshots import list_snapshots

    found = list_snapshots(_app(a.app))
    if a.json:
        print_json([s.__dict__ for s in found])
    elif not found:
        print(f"no snapshots of {a.app} yet (one is taken before each migration of SQLite)")
    else:
        table(
            [[s.name, s.release, s.taken, s.file] for s in found],
            ["SNAPSHOT", "RELEASE", "TAKEN", "FILE"],
        )
    return 0


def restore(a) -> int:
    from rxpanel.worker.snapshots import restore as restore_one

    if not a.yes:
        raise CliError(f"restoring replaces {a.app}'s live database: add --yes to go on")
    print(restore_one(_app(a.app), a.snapshot))
    record("db.restore", f"app:{a.app}", a.snapshot)
    return 0


def register(dbs) -> None:
    """Into the `db` group (see cli/system.py)."""
    s = dbs.add_parser("snapshots", help="SQLite copies taken before migrations, newest first")
    s.add_argument("app")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=snapshots)
    s = dbs.add_parser("restore", help="put a snapshot back into the app's database")
    s.add_argument("app")
    s.add_argument("snapshot")
    s.add_argument("--yes", action="store_true", help="replace the live database")
    s.set_defaults(func=restore)
