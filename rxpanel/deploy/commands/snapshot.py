"""A copy of each SQLite database in shared/ before a migration changes it.

Made (and restored) as the app's user, so no file of its database becomes root's.
Made with sqlite3's online backup API (a consistent copy while the live release
keeps writing), into shared/.snapshots/<release>-<utc>-<file>, the newest KEEP
per file kept. Only when the release has migrations to run (an alembic/ dir)."""

from __future__ import annotations

from collections.abc import Iterable

from rxpanel.deploy.commands import account
from rxpanel.deploy.commands.base import AppLayout, q

KEEP = 5
SUFFIXES = (".db", ".sqlite", ".sqlite3")

SNAPSHOT = (
    "import os, sqlite3, sys, time\n"
    "shared, release, keep, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]\n"
    "snaps = os.path.join(shared, '.snapshots')\n"
    "os.makedirs(snaps, exist_ok=True)\n"
    "stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())\n"
    "for path in files:\n"
    "    db, tail = os.path.join(shared, path), '-' + path.replace('/', '__')\n"
    "    if not os.path.isfile(db) or os.path.getsize(db) == 0:\n"
    "        print('no data in ' + path + ' yet: no snapshot')\n"
    "        continue\n"
    "    name = release + '-' + stamp + tail\n"
    "    part = os.path.join(snaps, name + '.part')\n"
    "    src, dst = sqlite3.connect(db), sqlite3.connect(part)\n"
    "    with dst:\n"
    "        src.backup(dst)\n"
    "    src.close()\n"
    "    dst.close()\n"
    "    os.replace(part, os.path.join(snaps, name))\n"
    "    print('snapshot of ' + path + ': .snapshots/' + name)\n"
    "    mine = sorted(n for n in os.listdir(snaps) if n.endswith(tail))\n"
    "    for old in mine[:-keep]:\n"
    "        os.remove(os.path.join(snaps, old))"
)


def databases(files: Iterable[str]) -> tuple[str, ...]:
    """The shared files that are SQLite databases by their name."""
    return tuple(f for f in files if f.endswith(SUFFIXES))


def before_migrate(app: AppLayout, release_id: str, files: Iterable[str], keep: int = KEEP) -> str:
    """Snapshot the shared databases when the release has migrations (validated paths)."""
    dbs = " ".join(q(f) for f in files)
    rel = app.release(release_id)
    return account.as_app(
        app,
        f"if [ -d {q(rel + '/backend/alembic')} ]; then "
        f"python3 -c {q(SNAPSHOT)} {q(app.shared)} {q(release_id)} {int(keep)} {dbs}; "
        f"else echo 'no alembic/ in the app: no snapshot'; fi",
    )


RESTORE = (
    "import os, sqlite3, sys\n"
    "shared, name, path = sys.argv[1:4]\n"
    "snap, db = os.path.join(shared, '.snapshots', name), os.path.join(shared, path)\n"
    "if not os.path.isfile(snap):\n"
    "    sys.exit('no snapshot ' + name + ' on the server')\n"
    "src, dst = sqlite3.connect(snap), sqlite3.connect(db)\n"
    "with dst:\n"
    "    src.backup(dst)\n"
    "src.close()\n"
    "print(path + ' restored from .snapshots/' + name)\n"
    "try:\n"
    "    revs = sorted(r[0] for r in dst.execute('select version_num from alembic_version'))\n"
    "    print('alembic revision: ' + ' '.join(revs))\n"
    "except sqlite3.Error:\n"
    "    pass\n"
    "dst.close()"
)


def list_all(app: AppLayout) -> str:
    return account.as_app(
        app, f"ls -1 {q(app.shared + '/.snapshots')} 2>/dev/null | grep -v '[.]part$' || true"
    )


def file_of(name: str) -> str:
    """The shared path a snapshot name was made of: <release>-<utc>-<file, / as __>."""
    return name.split("-", 3)[3].replace("__", "/")


def restore(app: AppLayout, name: str) -> str:
    """Copy a snapshot back into its database (sqlite3's backup API: the running
    release sees the restored data at its next query), then print the alembic
    revision it is at, if it has one. `name` is validated."""
    return account.as_app(
        app, f"python3 -c {q(RESTORE)} {q(app.shared)} {q(name)} {q(file_of(name))}"
    )
