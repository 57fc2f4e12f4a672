"""Work on servers that is not a deploy: `server check`, removing an app from its
servers, and stopping warm standbys whose time has come (the scheduler's job)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rxpanel.deploy.commands import check, composite, lock, store, supervisor
from rxpanel.deploy.remote import RemoteError
from rxpanel.deploy.target import connect
from rxpanel.deploy.templates.supervisor import MAX_DRAIN
from rxpanel.models import App, Server
from rxpanel.services import NotFound, apps, servers, standbys
from rxpanel.worker.plans import host_of, layout_of, target_of


def connect_server(server: Server):
    """An opened connection to a stored server; the first one records its host key."""
    return connect(
        target_of(server, {}, primary=False),
        on_host_key=lambda key: servers.record_host_key(server.id, key),
    )


@dataclass
class CheckItem:
    label: str
    ok: bool
    detail: str


def check_server(server: Server) -> Iterator[CheckItem]:
    """`server check`, item by item as each completes; stops after a failed login."""
    try:
        remote = connect_server(server)
    except RemoteError as e:
        yield CheckItem("SSH login", False, str(e))
        return
    with remote:
        for label, command in check.items(host_of(server)):
            try:
                result = remote.run(command, label=label, check=False, timeout=60)
            except RemoteError as e:
                yield CheckItem(label, False, str(e))
                return
            text = (result.stdout + result.stderr).strip().splitlines()
            detail = text[-1] if text else ("ok" if result.ok else f"exit {result.exit_code}")
            yield CheckItem(label, result.ok, detail)


def remove_app(app: App, keep_files: bool = True, server_name: str | None = None) -> list[str]:
    """Stop an app's programs and drop its nginx site (and its files, unless kept)
    on each of its servers (or one), under its lock. Returns what was done."""
    owner, done = f"removal of {app.name}", []
    for server, _ports in apps.targets(app):
        if server_name is not None and server.name != server_name:
            continue
        layout = layout_of(app, server)
        with connect_server(server) as remote:
            remote.run(lock.acquire(layout, owner), label="taking the app lock")
            try:
                remote.run(
                    f"{store.remove(layout)}; {supervisor.remove(layout)}", label="stopping the app"
                )
                remote.run(composite.remove_site_if_present(layout), label="removing the nginx site")
                done.append(f"{server.name}: stopped blue, green and the state store, removed the nginx site")
            finally:
                if keep_files:
                    remote.run(lock.release(layout, owner), label="releasing the lock")
                else:
                    remote.run(composite.delete_app_files(layout), label="deleting the app's files")
                    done.append(f"{server.name}: deleted {layout.dir}")
    return done


def stop_due_standbys() -> list[str]:
    """Stop every warm standby whose time has come, each under its app lock; one
    whose lock is held (a deploy runs) is tried again at the next call. Returns
    what was stopped, as "app on server: colour"."""
    stopped = []
    for row in standbys.due():
        try:
            app, server = apps.get_by_id(row.app_id), servers.get_by_id(row.server_id)
        except NotFound:
            standbys.done(row.id)  # the app or the server is gone: nothing to stop
            continue
        layout = layout_of(app, server)
        try:
            with connect_server(server) as remote:
                result = remote.run(
                    composite.stop_standby(layout, row.color, row.release_id),
                    label="stopping the standby",
                    check=False,
                    timeout=60 + MAX_DRAIN,  # its drain, then the kill
                )
        except RemoteError:
            continue  # the server is unreachable now: next time
        if result.exit_code == lock.LOCKED_EXIT:
            continue
        standbys.done(row.id)
        if result.ok:
            stopped.append(f"{app.name} on {server.name}: {row.color}")
    return stopped
