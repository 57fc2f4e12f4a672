"""The target host's paths and tools, and quoting helpers."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass

COLORS = ("blue", "green")


def other_color(color: str | None) -> str:
    return "green" if color == "blue" else "blue"


def q(value: object) -> str:
    return shlex.quote(str(value))


def sh(*words: object) -> str:
    """One command line from words, each quoted."""
    return " ".join(q(w) for w in words)


@dataclass(frozen=True)
class Host:
    """Where things live on a server and how its tools are called."""

    user: str = "root"
    sudo: bool = False
    deploy_root: str = "/srv/rxpanel"
    nginx_conf_dir: str = "/etc/nginx/conf.d"
    nginx_cmd: str = "nginx"
    supervisor_conf_dir: str = "/etc/supervisor/conf.d"
    supervisorctl_cmd: str = "supervisorctl"

    def priv(self, line: str) -> str:
        """Prefix a privileged command line with non-interactive sudo when needed."""
        return f"sudo -n {line}" if self.sudo else line

    @property
    def isolated(self) -> bool:
        """Root (the login or through sudo) can give each app a Unix user of its own."""
        return self.user == "root" or self.sudo

    def as_root(self, script: str) -> str:
        """A shell script run as root when the server gives it (else as the login)."""
        return f"sudo -n sh -c {q(script)}" if self.sudo else script

    def nginx(self, *args: str) -> str:
        return self.priv(" ".join([*map(q, shlex.split(self.nginx_cmd)), *map(q, args)]))

    def supervisorctl(self, *args: str) -> str:
        words = [*shlex.split(self.supervisorctl_cmd), *args]
        return self.priv(" ".join(q(w) for w in words))


APP_USER_PREFIX = "rxa-"


def app_user_name(app: str) -> str:
    """rxa-<app>, within the 32 characters of a Unix user name (a hash keeps long
    names apart)."""
    name = APP_USER_PREFIX + app
    if len(name) <= 32:
        return name
    digest = hashlib.sha256(app.encode()).hexdigest()[:6]
    return f"{name[:25]}-{digest}"


@dataclass(frozen=True)
class AppLayout:
    """The remote layout of one app (see DESIGN.md)."""

    host: Host
    app: str

    @property
    def dir(self) -> str:
        return f"{self.host.deploy_root}/{self.app}"

    @property
    def releases(self) -> str:
        return f"{self.dir}/releases"

    def release(self, release_id: str) -> str:
        return f"{self.releases}/{release_id}"

    @property
    def venvs(self) -> str:
        return f"{self.dir}/venvs"

    def venv(self, req_hash: str) -> str:
        return f"{self.venvs}/{req_hash}"

    @property
    def current(self) -> str:
        return f"{self.dir}/current"

    @property
    def shared(self) -> str:
        return f"{self.dir}/shared"

    @property
    def logs(self) -> str:
        return f"{self.dir}/logs"

    @property
    def tmp(self) -> str:
        return f"{self.dir}/tmp"

    @property
    def lock(self) -> str:
        return f"{self.dir}/.lock"

    @property
    def live_marker(self) -> str:
        """'<color> <release>' of what nginx serves; written at each switch."""
        return f"{self.dir}/live"

    @property
    def standby_marker(self) -> str:
        """'<color> <release>' of the warm standby, if any."""
        return f"{self.dir}/standby"

    @property
    def home(self) -> str:
        """HOME of the app's processes (its caches), in shared/: it outlives releases."""
        return f"{self.shared}/home"

    @property
    def unix_user(self) -> str:
        """Who the app's processes run as: its own user, or the login without root."""
        return app_user_name(self.app) if self.host.isolated else self.host.user

    @property
    def store_dir(self) -> str:
        """The app's state store (Redis, shared by blue and green): its config,
        socket and data, in shared/ (the app user's, 0700)."""
        return f"{self.shared}/.redis"

    @property
    def store_socket(self) -> str:
        return f"{self.store_dir}/redis.sock"

    @property
    def store_conf(self) -> str:
        return f"{self.store_dir}/redis.conf"

    @property
    def store_program(self) -> str:
        return self.program("redis")

    def program(self, color: str) -> str:
        return f"rxpanel-{self.app}-{color}"

    def program_conf(self, color: str) -> str:
        return f"{self.host.supervisor_conf_dir}/{self.program(color)}.conf"

    def program_log(self, color: str) -> str:
        return f"{self.logs}/{color}.log"

    @property
    def site_conf(self) -> str:
        return f"{self.host.nginx_conf_dir}/rxpanel-{self.app}.conf"
