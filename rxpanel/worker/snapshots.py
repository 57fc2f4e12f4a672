"""The SQLite snapshots taken before migrations, on the app's primary server (where
migrations run): list them, and restore one under the app lock."""

from __future__ import annotations

from dataclasses import dataclass

from rxpanel import validate
from rxpanel.deploy.commands import lock, snapshot
from rxpanel.models import App
from rxpanel.services import apps
from rxpanel.worker import hosts
from rxpanel.worker.plans import layout_of


@dataclass(frozen=True)
class Snapshot:
    name: str
    release: str
    taken: str  # UTC, as in the name
    file: str


def parse(name: str) -> Snapshot:
    day, hexpart, taken, _ = name.split("-", 3)
    return Snapshot(name, f"{day}-{hexpart}", taken, snapshot.file_of(name))


def _primary(app: App):
    server, _ports = apps.targets(app)[0]
    return server, layout_of(app, server)


def list_snapshots(app: App) -> list[Snapshot]:
    """Newest first."""
    server, layout = _primary(app)
    with hosts.connect_server(server) as remote:
        out = remote.run(snapshot.list_all(layout), label="listing the snapshots").stdout
    names = [n.strip() for n in out.splitlines() if validate.SNAPSHOT.fullmatch(n.strip())]
    return [parse(n) for n in sorted(names, reverse=True)]


def restore(app: App, name: str) -> str:
    name = validate.snapshot_name(name)
    server, layout = _primary(app)
    owner = f"restore of {app.name}"
    with hosts.connect_server(server) as remote:
        remote.run(lock.acquire(layout, owner), label="taking the app lock")
        try:
            return remote.run(snapshot.restore(layout, name), label="restoring").stdout.strip()
        finally:
            remote.run(lock.release(layout, owner), label="releasing the lock")
