"""Servers: SSH targets with their paths and tools. The private key is stored encrypted."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import select

from rxpanel import db, secrets, validate
from rxpanel.models import Server
from rxpanel.services import Conflict, NotFound, ServiceError, placements

# A server's paths and tools, the Debian/Ubuntu defaults: the Server model's own
FIELDS = (
    "user",
    "sudo",
    "deploy_root",
    "nginx_conf_dir",
    "nginx_cmd",
    "supervisor_conf_dir",
    "supervisorctl_cmd",
)
DEFAULTS = {name: Server.model_fields[name].default for name in ("port", *FIELDS)}


@dataclass
class ServerInput:
    name: str
    host: str
    port: int | str = DEFAULTS["port"]
    user: str = DEFAULTS["user"]
    sudo: bool = DEFAULTS["sudo"]
    deploy_root: str = DEFAULTS["deploy_root"]
    nginx_conf_dir: str = DEFAULTS["nginx_conf_dir"]
    nginx_cmd: str = DEFAULTS["nginx_cmd"]
    supervisor_conf_dir: str = DEFAULTS["supervisor_conf_dir"]
    supervisorctl_cmd: str = DEFAULTS["supervisorctl_cmd"]

    def cleaned(self) -> dict:
        return {
            "name": validate.slug(self.name, "server name"),
            "host": validate.host(self.host),
            "port": validate.port(self.port, "SSH port"),
            "user": validate.user(self.user),
            "sudo": bool(self.sudo),
            "deploy_root": validate.abs_path(self.deploy_root, "deploy root"),
            "nginx_conf_dir": validate.abs_path(self.nginx_conf_dir, "nginx conf dir"),
            "nginx_cmd": validate.command(self.nginx_cmd, "nginx command"),
            "supervisor_conf_dir": validate.abs_path(
                self.supervisor_conf_dir, "supervisor conf dir"
            ),
            "supervisorctl_cmd": validate.command(self.supervisorctl_cmd, "supervisorctl command"),
        }


def _keys():
    """Key parsing and fingerprints (paramiko: imported when first needed)."""
    from rxpanel import sshkeys

    return sshkeys


def read_key_file(path: str | Path) -> str:
    """Read and check a private key file; the file is not needed afterwards."""
    path = Path(path).expanduser()
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ServiceError(f"cannot read SSH key {path}: {getattr(e, 'strerror', e)}") from None
    try:
        _keys().load_private_key(text)
    except ValueError as e:
        raise ServiceError(f"{path}: {e}") from None
    return text


def add(data: ServerInput, private_key: str) -> Server:
    fields = data.cleaned()
    with db.session() as s:
        if s.exec(select(Server).where(Server.name == fields["name"])).first():
            raise Conflict(f"a server named {fields['name']!r} already exists")
        server = Server(**fields, ssh_key_enc=secrets.encrypt(private_key))
        s.add(server)
    return server


def update(name: str, data: ServerInput, private_key: str | None = None) -> Server:
    fields = data.cleaned()
    with db.session() as s:
        server = _get(s, name)
        if (
            fields["name"] != server.name
            and s.exec(select(Server).where(Server.name == fields["name"])).first()
        ):
            raise Conflict(f"a server named {fields['name']!r} already exists")
        if (fields["host"], fields["port"]) != (server.host, server.port):
            server.host_key = None  # a different machine: learn its key again
        for key, value in fields.items():
            setattr(server, key, value)
        if private_key is not None:
            server.ssh_key_enc = secrets.encrypt(private_key)
        s.add(server)
    return server


def delete(name: str) -> None:
    with db.session() as s:
        server = _get(s, name)
        apps = placements.apps_on(s, server.id)
        if apps:
            raise Conflict(f"server {name!r} is used by apps: {', '.join(apps)}")
        s.delete(server)


def _get(s, name: str) -> Server:
    name = validate.slug(name, "server name")  # a malformed name is refused, not looked up
    server = s.exec(select(Server).where(Server.name == name)).first()
    if server is None:
        raise NotFound(f"no server named {name!r}")
    return server


def get(name: str) -> Server:
    with db.session() as s:
        return _get(s, name)


def get_by_id(server_id: int) -> Server:
    with db.session() as s:
        server = s.get(Server, server_id)
        if server is None:
            raise NotFound(f"no server with id {server_id}")
        return server


def list_all() -> list[Server]:
    with db.session() as s:
        return list(s.exec(select(Server).order_by(Server.name)).all())


def private_key(server: Server) -> str:
    return secrets.decrypt(server.ssh_key_enc)


def record_host_key(server_id: int, key_line: str) -> None:
    """Trust on first use: only a server with no recorded key learns one."""
    with db.session() as s:
        server = s.get(Server, server_id)
        if server is not None and not server.host_key:
            server.host_key = key_line
            s.add(server)


def forget_host_key(name: str) -> None:
    with db.session() as s:
        server = _get(s, name)
        server.host_key = None
        s.add(server)


def public(server: Server) -> dict:
    """What may be shown: everything but the key."""
    return {
        "name": server.name,
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "sudo": server.sudo,
        "deploy_root": server.deploy_root,
        "nginx_conf_dir": server.nginx_conf_dir,
        "nginx_cmd": server.nginx_cmd,
        "supervisor_conf_dir": server.supervisor_conf_dir,
        "supervisorctl_cmd": server.supervisorctl_cmd,
        "host_key": _keys().fingerprint(server.host_key) if server.host_key else None,
    }


def check_key(text: str) -> None:
    """Raise ValueError unless `text` is a private key we can use."""
    _keys().load_private_key(text)


@dataclass(frozen=True)
class Record:
    """A server as the list shows it: never the key; the host key as a fingerprint."""

    name: str
    host: str
    port: int
    user: str
    sudo: bool
    deploy_root: str
    nginx_conf_dir: str
    nginx_cmd: str
    supervisor_conf_dir: str
    supervisorctl_cmd: str
    host_key: str | None
    apps: int  # apps deploying to it, as primary or further server


def records() -> list[Record]:
    with db.session() as s:
        used = placements.app_counts(s)  # a fleet app counts on each of its servers
    return [Record(**public(server), apps=used.get(server.id, 0)) for server in list_all()]
