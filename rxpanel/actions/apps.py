"""Add or change an app (an IP-address or catch-all URL only with an admin's consent);
remove an app, or one server of its fleet: refused before any server is touched."""

from __future__ import annotations

from collections.abc import Sequence

from rxpanel import validate
from rxpanel.actions import _host
from rxpanel.actions.actor import Actor, record, require
from rxpanel.models import App
from rxpanel.services import Conflict, NotFound, apps, deploy_keys, deployments
from rxpanel.sshkeys import fingerprint


def _consent(data: apps.AppInput, actor: Actor) -> None:
    """`allow_ip_url` lets one app take another's traffic: for admins only."""
    if data.allow_ip_url:
        require(actor, "admin", "app.allow_ip_url", f"app:{data.name}")


def add_app(data: apps.AppInput, actor: Actor, further: Sequence[str] = ()) -> App:
    require(actor, "deployer", "app.add", f"app:{data.name}")
    _consent(data, actor)
    return apps.add(data, further)


def update_app(name: str, data: apps.AppInput, actor: Actor) -> App:
    require(actor, "deployer", "app.update", f"app:{name}")
    _consent(data, actor)
    return apps.update(name, data)


def deploy_key(name: str, actor: Actor, new: bool = False) -> str:
    """The public half of the app's deploy key (made now if it has none); `new`
    replaces the key: clones fail until the git host has the new public half."""
    app = apps.get(name)
    require(actor, "deployer" if new else "viewer", "app.deploy_key", f"app:{app.name}")
    line = deploy_keys.public(app, new=new)
    if new:
        record(actor, "app.deploy_key_rotate", f"app:{app.name}", detail=fingerprint(line))
    return line


def remove_app(name: str, actor: Actor, purge: bool = False) -> list[str]:
    """Stop the app on its servers (and delete its files with `purge`), then forget
    it. Returns what was done on the servers."""
    app = apps.get(name)
    require(actor, "deployer", "app.delete", f"app:{app.name}")
    busy = deployments.in_progress(app.id)
    if busy is not None:  # apps.delete checks again, in its transaction
        raise Conflict(f"{app.name} has a deployment in progress (#{busy}); wait for it first")
    done = []
    if app.current_release_id or purge:
        done = _host.remove_app(app, keep_files=not purge)
    apps.delete(app.name)
    record(actor, "app.delete", f"app:{app.name}", detail="with its files" if purge else "")
    return done


def detach_server(name: str, server_name: str, actor: Actor) -> list[str]:
    """Stop deploying the app to one further server; its programs and nginx site
    there are removed first (if it was ever deployed)."""
    server_name = validate.slug(server_name, "server name")
    app = apps.get(name)
    require(actor, "deployer", "app.remove_server", f"app:{app.name}")
    names = [server.name for server, _ports in apps.targets(app)]
    if names and server_name == names[0]:
        raise Conflict(f"{server_name} is {app.name}'s primary server; it cannot be removed")
    if server_name not in names:
        raise NotFound(f"{app.name} does not deploy to {server_name}")
    done = []
    if app.current_release_id:
        done = _host.remove_app(app, server_name=server_name)
    apps.remove_server(app.name, server_name)
    record(actor, "app.remove_server", f"app:{app.name}", detail=server_name)
    return done
