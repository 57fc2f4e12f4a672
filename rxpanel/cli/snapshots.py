"""`rxpanel db snapshots APP`, `rxpanel db restore APP SNAPSHOT`: the copies of an
app's SQLite databases taken before each migration (the same use cases as the
dashboard's "Database snapshots")."""

from __future__ import annotations

from rxpanel.cli.common import CliError, actor, print_json, table


def snapshots(a) -> int:
    from rxpanel import actions

    found = actions.list_snapshots(a.app, actor())
    if a.json:
        print_json([s.__dict__ for s in found.snapshots])
    elif found.note:
        print(found.note)
    elif not found.snapshots:
        print(f"no snapshots of {a.app} yet (one is taken before each migration of SQLite)")
    else:
        table(
            [[s.name, s.release, s.taken, s.file] for s in found.snapshots],
            ["SNAPSHOT", "RELEASE", "TAKEN", "FILE"],
        )
    return 0


def restore(a) -> int:
    from rxpanel import actions

    if not a.yes:
        raise CliError(f"restoring replaces {a.app}'s live database: add --yes to go on")
    done = actions.restore_snapshot(a.app, a.snapshot, actor())
    print(f"{done.message} (on {done.server})")
    if done.revision is not None:
        print(f"the database is now at alembic revision {done.revision or '(none)'}")
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
