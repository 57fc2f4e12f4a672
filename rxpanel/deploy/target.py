"""From stored rows to a connected server: the Host description, the SSH
connection (recording the host key on first use), and `server check`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from rxpanel.deploy.commands import AppLayout, Host, check
from rxpanel.deploy.remote import Remote, RemoteError
from rxpanel.models import App, Server
from rxpanel.services import servers


def host_of(server: Server) -> Host:
    return Host(
        user=server.user,
        sudo=server.sudo,
        deploy_root=server.deploy_root,
        nginx_conf_dir=server.nginx_conf_dir,
        nginx_cmd=server.nginx_cmd,
        supervisor_conf_dir=server.supervisor_conf_dir,
        supervisorctl_cmd=server.supervisorctl_cmd,
    )


def layout_of(app: App, server: Server) -> AppLayout:
    return AppLayout(host_of(server), app.name)


def connect(server: Server, secrets: list[str] = ()) -> Remote:
    """An opened connection; the first one records the server's host key."""
    remote = Remote(
        host=server.host,
        port=server.port,
        user=server.user,
        private_key=servers.private_key(server),
        host_key=server.host_key,
        on_new_host_key=lambda key: servers.record_host_key(server.id, key),
        secrets=list(secrets),
    )
    remote.open()
    return remote


@dataclass
class CheckItem:
    label: str
    ok: bool
    detail: str


def check_server(server: Server) -> Iterator[CheckItem]:
    """`server check`, item by item as each completes; stops after a failed login."""
    try:
        remote = connect(server)
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
