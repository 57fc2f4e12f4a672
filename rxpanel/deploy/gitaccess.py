"""How git reaches an app's source and works on its workspace: the app's deploy
key as its only SSH identity, nothing of the panel's (no agent, no ~/.ssh, no git
config or credential helper, no ~/.netrc), only the transport the source names,
no hooks; and, with bubblewrap, inside the build's jail, where only the workspace's
checkout and its known_hosts are writable and the key file is visible.

A checkout's .git is written by git in here, but the app's own build code can
write into the checkout afterwards: so every git command on the workspace
(rev-parse and log too) runs here, never as the panel with a config the app wrote.

`Access.config` / `env` / `ssh_command` are pure: the argv and environment, as data."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rxpanel.deploy import jail
from rxpanel.deploy.local import BuildError, Log, clean_env
from rxpanel.deploy.local import run as _run
from rxpanel.sources import Where
from rxpanel.sshkeys import secret_parts

DROP_PREFIXES = ("GIT_", "SSH_")  # GIT_SSH_COMMAND, GIT_ASKPASS, SSH_AUTH_SOCK, ...


@dataclass(frozen=True)
class Access:
    where: Where
    known_hosts: Path  # per app, in its workspace: host keys seen by its clones
    key_file: Path | None = None  # the deploy key (ssh sources), 0600 in a private dir

    def config(self) -> list[str]:
        """`-c` options before every git command: only the source's own transport."""
        scheme = self.where.scheme
        allow = ["protocol.allow=never", f"protocol.{scheme}.allow=always"]
        if scheme != "file":
            allow.append("protocol.file.allow=never")
        allow += [
            "protocol.ext.allow=never",
            "credential.helper=",
            "core.hooksPath=/dev/null",
            "core.fsmonitor=false",
        ]
        if self.where.local is not None:  # a directory of another owner may be read
            allow.append(f"safe.directory={self.where.local}")
        return [arg for option in allow for arg in ("-c", option)]

    def env(self, base: Mapping[str, str], home: Path) -> dict[str, str]:
        """`base` without git's and ssh's variables, plus what makes git ask nothing
        and read no configuration of the panel's."""
        out = {k: v for k, v in base.items() if not k.startswith(DROP_PREFIXES)}
        out |= {
            "HOME": str(home),  # no ~/.netrc, ~/.ssh or ~/.gitconfig of the panel's
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
        }
        if self.key_file is not None:
            out["GIT_SSH_COMMAND"] = ssh_command(self.key_file, self.known_hosts)
        return out


def ssh_command(key_file: Path, known_hosts: Path) -> str:
    """The ssh git runs (through a shell, hence the quoting): this key only."""
    return " ".join(
        [
            "ssh",
            *("-i", shlex.quote(str(key_file))),
            *("-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-F", "/dev/null"),
            *("-o", "StrictHostKeyChecking=accept-new"),
            *("-o", f"UserKnownHostsFile={shlex.quote(str(known_hosts))}"),
            *("-o", "BatchMode=yes"),
        ]
    )


def clone_args(access: Access, dest: Path) -> list[str]:
    local = ["--no-local"] if access.where.local is not None else []  # no hard links
    return ["clone", "--quiet", "--no-checkout", *local, "--", access.where.address, str(dest)]


def passwd_line(home: Path) -> str:
    """ssh refuses to run for a uid /etc/passwd does not know: the jail's one user."""
    return f"build:x:{jail.NOBODY}:{jail.NOBODY}:build:{home}:/usr/sbin/nologin\n"


class Git:
    """git for one app's workspace and source, jailed when builds are."""

    def __init__(self, access: Access, home: Path, box: jail.Jail | None, secrets: list[str]):
        self.access, self.box, self.secrets = access, box, secrets
        base = jail.base_env() if box is not None else clean_env()
        self.env = access.env(base, home)

    def argv(self, *args: str) -> list[str]:
        return ["git", *self.access.config(), *args]

    def run(self, *args: str, cwd: Path | None = None, log: Log | None = None, what="git") -> str:
        """Run git; raise BuildError (its output redacted) when it fails."""
        return _run(
            self.argv(*args),
            cwd=cwd,
            env=self.env,
            log=log,
            secrets=self.secrets,
            what=what,
            jail=self.box,
        ).strip()

    def call(self, *args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run git and hand back its exit code and output (for yes/no questions)."""
        argv, env, where = self.argv(*args), self.env, cwd
        if self.box is not None:
            self.box.prepare()
            argv, env, where = self.box.argv(argv, cwd), self.box.env(env), None
        return subprocess.run(
            argv, cwd=where, env=env, capture_output=True, text=True, timeout=timeout
        )


@contextmanager
def session(workspace: Path, where: Where, deploy_key: str = "") -> Iterator[Git]:
    """git on `workspace`/src for the source `where`; the key file exists only
    while the session lasts (a private temp dir, deleted at its end)."""
    if where.uses_ssh and not deploy_key:
        raise BuildError(
            f"{where.address} is reached over SSH, and the app has no deploy key: "
            "`rxpanel app deploy-key APP` makes one"
        )
    ssh_dir = workspace / "ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = Path(tempfile.mkdtemp(prefix="rxpanel-git-"))  # mode 0700
    try:
        key_file = None
        if where.uses_ssh:
            key_file = _write(tmp / "deploy_key", deploy_key.strip() + "\n", 0o600)
        access = Access(where, ssh_dir / "known_hosts", key_file)
        box = None
        if jail.mode() == "bwrap":
            passwd = _write(tmp / "passwd", passwd_line(tmp), 0o644)
            box = jail.Jail(
                home=tmp,
                writable=(workspace / "src", ssh_dir),
                readonly=(where.local,) if where.local is not None else (),
                files=((passwd, "/etc/passwd"),),
            )
        yield Git(access, tmp, box, secret_parts(deploy_key) if deploy_key else [])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write(path: Path, text: str, mode: int) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path
