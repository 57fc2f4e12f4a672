"""The SQLite snapshots taken before migrations, on the app's primary server (where
migrations run): list them, and restore one under the app lock. An app whose
database is a server (PostgreSQL, MySQL) has none: rxpanel says so, and touches
nothing."""

from __future__ import annotations

from dataclasses import dataclass

from rxpanel import validate
from rxpanel.deploy import schema
from rxpanel.deploy.commands import lock, snapshot
from rxpanel.deploy.remote import CommandFailed, RemoteError
from rxpanel.models import App
from rxpanel.services import Conflict, NotFound, apps, placements, releases
from rxpanel.worker import hosts
from rxpanel.worker.plans import layout_of

REVISION = "alembic revision: "  # the restore script's last line, when the file has one


@dataclass(frozen=True)
class Snapshot:
    name: str
    release: str
    taken: str  # UTC, as in the name
    file: str


@dataclass(frozen=True)
class Listing:
    server: str  # the primary, where the snapshots are
    snapshots: list[Snapshot]  # newest first
    note: str = ""  # why there are none by design (a server database)


@dataclass(frozen=True)
class Restored:
    server: str
    message: str  # the server's own words: "<file> restored from .snapshots/<name>"
    revision: str | None  # where the restored database's migrations are, if it has any


def parse(name: str) -> Snapshot:
    day, hexpart, taken, _ = name.split("-", 3)
    return Snapshot(name, f"{day}-{hexpart}", taken, snapshot.file_of(name))


def database_of(app: App) -> str:
    """'PostgreSQL at db:5432' when the app's database is a server, else '': as the
    live release was built, or (never deployed) as the app's env says now."""
    if app.current_release_id:
        return releases.get(app.current_release_id).database
    return schema.server_db(schema.db_url("", apps.env_of(app))) or ""


def _primary(app: App):
    server, _ports = apps.targets(app)[0]
    return server, layout_of(app, server)


def _unreachable(server, e: RemoteError) -> Conflict:
    return Conflict(f"{server.name} did not answer ({e}): `rxpanel server check {server.name}`")


def list_snapshots(app: App) -> Listing:
    server, layout = _primary(app)
    database = database_of(app)
    if database:
        return Listing(server.name, [], schema.no_snapshot_note(database))
    try:
        with hosts.connect_server(server) as remote:
            out = remote.run(snapshot.list_all(layout), label="listing the snapshots").stdout
    except RemoteError as e:
        raise _unreachable(server, e) from None
    names = [n.strip() for n in out.splitlines() if validate.SNAPSHOT.fullmatch(n.strip())]
    return Listing(server.name, [parse(n) for n in sorted(names, reverse=True)])


def restore(app: App, name: str) -> Restored:
    """Copy the snapshot back into its database under the app lock (refused while a
    deploy holds it); the primary's recorded database revision follows."""
    name = validate.snapshot_name(name)
    database = database_of(app)
    if database:
        raise Conflict(schema.no_snapshot_note(database))
    server, layout = _primary(app)
    owner = f"restore of {app.name}"
    try:
        with hosts.connect_server(server) as remote:
            got = remote.run(lock.acquire(layout, owner), label="taking the app lock", check=False)
            if not got.ok:
                holder = got.stderr.strip().removeprefix("locked by: ")
                raise Conflict(
                    f"{app.name} is locked on {server.name} by {holder}: "
                    "restore when that has finished"
                )
            try:
                out = remote.run(snapshot.restore(layout, name), label="restoring").stdout
            finally:
                remote.run(lock.release(layout, owner), label="releasing the lock")
    except CommandFailed as e:
        if "no snapshot" in e.output:
            raise NotFound(
                f"no snapshot {name} on {server.name}: `rxpanel db snapshots {app.name}` "
                "lists the ones there"
            ) from None
        raise Conflict(f"restoring {name} on {server.name} failed: {e}") from None
    except RemoteError as e:
        raise _unreachable(server, e) from None
    lines = out.strip().splitlines()
    revision = next((ln[len(REVISION) :] for ln in lines if ln.startswith(REVISION)), None)
    if revision is not None:
        placements.set_db_revision(app.id, server.id, revision)
    message = "\n".join(ln for ln in lines if not ln.startswith(REVISION))
    return Restored(server.name, message, revision)
