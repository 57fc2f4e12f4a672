"""One sandbox as a record: its directory, ports, user, network namespace; the paths and
commands derived from them; and its sandbox.json (what `load` reads and `up` writes)."""

from __future__ import annotations

import getpass
import json
import os
import pwd
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from rxpanel.validate import ValidationError, abs_path, port

SSHD, NGINX = "/usr/sbin/sshd", "/usr/sbin/nginx"
SUPERVISORD, SUPERVISORCTL = "/usr/bin/supervisord", "/usr/bin/supervisorctl"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_PYTHON = "/usr/bin/python3"
# Every SSH session and supervisor program inherits this, so `down` can find what they left.
MARKER = "RXPANEL_SANDBOX"
# part -> (pid file, its own log) under DIR; `up` also keeps DIR/<part>.start.log
PARTS = {
    "sshd": ("ssh/sshd.pid", "ssh/sshd.log"),
    "nginx": ("nginx/nginx.pid", "nginx/logs/error.log"),
    "supervisord": ("supervisor/supervisord.pid", "supervisor/supervisord.log"),
}
# with a namespace, also the proxy that is pip's way out (it runs on the host, not inside)
NETNS_PARTS = {**PARTS, "proxy": ("netns/proxy.pid", "netns/proxy.log")}
START_TIMEOUT, STOP_TIMEOUT = 10.0, 10.0
MAX_SOCKET_PATH = 107  # sun_path limit; the supervisor socket is the longest path we need
LOOPBACK = "127.0.0.1"
NETNS_NAME = re.compile(r"^rxp-[0-9a-f]{8}$")  # also the name of the veth's host end (<= 15)
NETNS_NET = "10.251"  # sandbox N gets 10.251.N.0/30: .1 on the host, .2 in the namespace
NETNS_SUBNETS = range(1, 255)
NETNS_PORTS = (22, 80)  # default ssh and http ports inside a namespace: nothing else uses them
PROXY_PORT = 3128  # on the host end of the veth


class SandboxError(RuntimeError):
    """Why the sandbox could not be started, found or stopped, in one sentence."""


@dataclass
class Sandbox:
    dir: Path
    ssh_port: int
    http_port: int
    user: str
    netns: str | None = None  # the network namespace's name; None: on the host's 127.0.0.1
    subnet: int | None = None  # N of 10.251.N.0/30 with a namespace

    def path(self, *parts: str) -> str:
        return str(self.dir.joinpath(*parts))

    @property
    def host(self) -> str:
        """The address sshd and nginx's default server listen on."""
        return LOOPBACK if self.netns is None else f"{NETNS_NET}.{self.subnet}.2"

    @property
    def host_side(self) -> str | None:
        """The host's end of the veth (how the namespace reaches the host), or None."""
        return None if self.netns is None else f"{NETNS_NET}.{self.subnet}.1"

    @property
    def proxy_url(self) -> str | None:
        """The namespace's way out for pip (PIP_PROXY in SSH sessions), or None."""
        return None if self.netns is None else f"http://{self.host_side}:{PROXY_PORT}"

    @property
    def key_path(self) -> Path:
        return self.dir / "ssh" / "id_ed25519"

    @property
    def deploy_root(self) -> str:
        return self.path("srv")

    @property
    def nginx_conf_dir(self) -> str:
        return self.path("nginx", "conf.d")

    @property
    def nginx_cmd(self) -> str:
        return f"{NGINX} -c {self.path('nginx', 'nginx.conf')} -p {self.path('nginx')}/"

    @property
    def supervisor_conf_dir(self) -> str:
        return self.path("supervisor", "conf.d")

    @property
    def supervisorctl_cmd(self) -> str:
        return f"{SUPERVISORCTL} -c {self.path('supervisor', 'supervisord.conf')}"

    def server_add_args(self, name: str = "sandbox") -> list[str]:
        return [
            "server",
            "add",
            name,
            "--host",
            self.host,
            "--port",
            str(self.ssh_port),
            "--user",
            self.user,
            "--key",
            str(self.key_path),
            "--no-sudo",
            "--deploy-root",
            self.deploy_root,
            "--nginx-conf-dir",
            self.nginx_conf_dir,
            "--nginx-cmd",
            self.nginx_cmd,
            "--supervisor-conf-dir",
            self.supervisor_conf_dir,
            "--supervisorctl-cmd",
            self.supervisorctl_cmd,
        ]

    def server_add_line(self, name: str = "sandbox") -> str:
        return "rxpanel " + shlex.join(self.server_add_args(name))

    def parts(self) -> dict[str, tuple[str, str]]:
        """part -> (pid file, log) of what runs for this sandbox."""
        return PARTS if self.netns is None else NETNS_PARTS


def current_user() -> str:
    """The account we run as (what sshd's AllowUsers and nginx's `user` need), not $USER."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid without a passwd entry (some containers)
        return getpass.getuser()


def check_dir(value: Path | str) -> Path:
    try:
        text = abs_path(str(value), "sandbox dir")
    except ValidationError as e:
        raise SandboxError(str(e)) from None
    if text == "/":
        raise SandboxError("sandbox dir must not be '/'")
    if len(text) + len("/supervisor/supervisor.sock") > MAX_SOCKET_PATH:
        raise SandboxError(f"sandbox dir {text!r} is too long for a unix socket path under it")
    return Path(text)


def load(dir: Path | str) -> Sandbox:
    d = check_dir(dir)
    try:
        data = json.loads((d / "sandbox.json").read_text())
        netns = subnet = None
        if data.get("netns") is True:
            netns, subnet = data["netns_name"], data["subnet"]
            if not (
                isinstance(netns, str)
                and NETNS_NAME.fullmatch(netns)
                and type(subnet) is int
                and subnet in NETNS_SUBNETS
            ):
                raise ValueError("bad network namespace")
        return Sandbox(
            d,
            port(data["ssh_port"], "ssh port"),
            port(data["http_port"], "http port"),
            str(data["user"]),
            netns,
            subnet,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise SandboxError(f"{d} is not an rxpanel sandbox (no valid sandbox.json)") from None


def save(sb: Sandbox) -> None:
    data = {"ssh_port": sb.ssh_port, "http_port": sb.http_port, "user": sb.user}
    if sb.netns is not None:
        data |= {
            "netns": True,
            "netns_name": sb.netns,
            "subnet": sb.subnet,
            "address": sb.host,
            "host_address": sb.host_side,
        }
    (sb.dir / "sandbox.json").write_text(json.dumps(data, indent=2) + "\n")
