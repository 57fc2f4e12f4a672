"""The SQLite snapshots taken before each migration: list them (viewers may) and
restore one (deployers), from the dashboard and the CLI alike, in the audit log."""

from __future__ import annotations

from rxpanel import validate
from rxpanel.actions import _host
from rxpanel.actions.actor import Actor, record, require
from rxpanel.models import App
from rxpanel.services import ServiceError, apps


def _app(app: str | App) -> App:
    return apps.get(app) if isinstance(app, str) else app


def list_snapshots(app: str | App, actor: Actor):
    """Listing(server, snapshots newest first, note): the note says why a server
    database (PostgreSQL, MySQL) has none. Connects to the app's primary server."""
    found = _app(app)
    require(actor, "viewer", "db.snapshots", f"app:{found.name}")
    return _host.list_snapshots(found)


def restore_snapshot(app: str | App, name: str, actor: Actor):
    """Put the snapshot back into the live database on the primary, under the app
    lock: Restored(server, message, revision). Refusals and failures are audited."""
    found = _app(app)
    target = f"app:{found.name}"
    require(actor, "deployer", "db.restore", target)
    try:
        name = validate.snapshot_name(name)
        done = _host.restore_snapshot(found, name)
    except ServiceError as e:
        record(actor, "db.restore", target, outcome="refused", detail=f"{name}: {e}")
        raise
    except Exception as e:
        record(actor, "db.restore", target, outcome="failed", detail=f"{name}: {e}")
        raise
    record(actor, "db.restore", target, detail=f"{name} on {done.server}")
    return done
