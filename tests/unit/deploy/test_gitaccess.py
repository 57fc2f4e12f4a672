"""How git reaches an app's source (rxpanel/deploy/gitaccess.py): the argv and the
environment of a clone, as data; the key file's life; and a real clone of a local
repository, jailed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from rxpanel import sshkeys
from rxpanel.deploy import build, gitaccess, jail
from rxpanel.deploy.local import BuildError
from rxpanel.deploy.plan import AppSettings, Plan
from rxpanel.sources import Where
from tests.unit.test_old_pushes import git

KH = Path("/ws/shop/ssh/known_hosts")
KEY = Path("/tmp/rxpanel-git-x/deploy_key")
SSH = Where("ssh://git@git.example:2222/org/shop.git", "ssh")
HTTPS = Where("https://git.example/org/shop.git", "https")
LOCAL = Where("/srv/apps/shop", "file", local=Path("/srv/apps/shop"))
HARDENING = [
    *("-c", "protocol.ext.allow=never", "-c", "credential.helper="),
    *("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"),
]


def test_an_ssh_source_allows_ssh_only():
    assert gitaccess.Access(SSH, KH, KEY).config() == [
        *("-c", "protocol.allow=never", "-c", "protocol.ssh.allow=always"),
        *("-c", "protocol.file.allow=never"),
        *HARDENING,
    ]


def test_an_https_source_allows_https_only():
    assert gitaccess.Access(HTTPS, KH).config() == [
        *("-c", "protocol.allow=never", "-c", "protocol.https.allow=always"),
        *("-c", "protocol.file.allow=never"),
        *HARDENING,
    ]


def test_an_allowed_local_source_allows_file_access_to_it_only():
    assert gitaccess.Access(LOCAL, KH).config() == [
        *("-c", "protocol.allow=never", "-c", "protocol.file.allow=always"),
        *HARDENING,
        *("-c", "safe.directory=/srv/apps/shop"),
    ]
    clone = gitaccess.clone_args(gitaccess.Access(LOCAL, KH), Path("/ws/shop/src"))
    assert clone == [
        *("clone", "--quiet", "--no-checkout", "--no-local", "--"),
        *("/srv/apps/shop", "/ws/shop/src"),
    ]
    remote = gitaccess.clone_args(gitaccess.Access(SSH, KH, KEY), Path("/ws/shop/src"))
    assert "--no-local" not in remote and remote[-2] == SSH.address


def test_ssh_uses_the_deploy_key_and_nothing_else():
    assert gitaccess.ssh_command(KEY, KH) == (
        "ssh -i /tmp/rxpanel-git-x/deploy_key -o IdentitiesOnly=yes -o IdentityAgent=none "
        "-F /dev/null -o StrictHostKeyChecking=accept-new "
        "-o UserKnownHostsFile=/ws/shop/ssh/known_hosts -o BatchMode=yes"
    )
    # the command goes through a shell: paths are quoted
    odd = gitaccess.ssh_command(Path("/tmp/a b/key"), KH)
    assert "-i '/tmp/a b/key'" in odd


def test_the_environment_has_nothing_of_the_panels_git_or_ssh():
    panel = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "HOME": "/home/panel",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
        "SSH_AGENT_PID": "12",
        "SSH_ASKPASS": "/usr/bin/askpass",
        "GIT_ASKPASS": "/usr/bin/askpass",
        "GIT_SSH": "/usr/bin/evil",
        "GIT_SSH_COMMAND": "ssh -i /home/panel/.ssh/id_ed25519",
        "GIT_CONFIG_PARAMETERS": "'credential.helper'='store'",
    }
    env = gitaccess.Access(SSH, KH, KEY).env(panel, Path("/tmp/rxpanel-git-x"))
    assert env == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "HOME": "/tmp/rxpanel-git-x",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_SSH_COMMAND": gitaccess.ssh_command(KEY, KH),
    }
    assert "GIT_SSH_COMMAND" not in gitaccess.Access(HTTPS, KH).env(panel, Path("/t"))


def test_an_ssh_source_without_a_deploy_key_is_refused(tmp_path):
    with pytest.raises(BuildError, match="no deploy key: `rxpanel app deploy-key APP`"):
        with gitaccess.session(tmp_path, SSH, ""):
            pass


def test_the_key_file_lives_in_a_private_dir_for_the_session_only(tmp_path, monkeypatch):
    monkeypatch.setattr(jail, "mode", lambda: "bwrap")
    key = sshkeys.new_deploy_key()
    with gitaccess.session(tmp_path, SSH, key) as git:
        key_file = git.access.key_file
        assert key_file.read_text() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
        assert git.access.known_hosts == tmp_path / "ssh" / "known_hosts"
        assert git.secrets == sshkeys.secret_parts(key)
        passwd = key_file.parent / "passwd"
        assert passwd.read_text().startswith("build:x:65534:65534:")
        argv = git.box.argv(git.argv("fetch"), tmp_path / "src")
        binds = list(zip(argv, argv[1:], argv[2:], strict=False))
        assert ("--ro-bind", str(passwd), "/etc/passwd") in binds
        assert ("--bind", str(tmp_path / "src"), str(tmp_path / "src")) in binds
        assert ("--bind", str(tmp_path / "ssh"), str(tmp_path / "ssh")) in binds
        assert git.env["GIT_SSH_COMMAND"].startswith(f"ssh -i {key_file} ")
    assert not key_file.parent.exists()  # gone with the session


def test_the_plan_redacts_the_deploy_key_and_does_not_show_it():
    key = sshkeys.new_deploy_key()
    app = AppSettings(
        id=1, name="shop", url="http://a.x", source=SSH.address, branch="main", deploy_key=key
    )
    plan = Plan(1, "deploy", "me", app, {"TOKEN": "t0ken"}, ())
    assert plan.secrets[0] == "t0ken" and key in plan.secrets
    body = [ln for ln in key.splitlines() if not ln.startswith("-----")]
    assert set(body) <= set(plan.secrets)  # output is redacted line by line
    assert key not in repr(app) and body[1] not in repr(plan)


@pytest.mark.skipif(not jail.available(), reason="bubblewrap is not installed")
def test_a_local_repository_is_cloned_in_the_jail_with_no_hooks(home, tmp_path, monkeypatch):
    """A checkout's hooks never run (the app's build could write them), and the
    source is reachable read-only only."""
    monkeypatch.setenv("RXPANEL_SOURCE_ROOTS", str(tmp_path / "apps"))
    from rxpanel import settings

    settings.get.cache_clear()
    repo = tmp_path / "apps" / "shop"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "rxconfig.py").write_text("config = None\n")
    (repo / "requirements.txt").write_text("")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "one")
    monkeypatch.setattr(build.resolve, "resolve", lambda *a: build.resolve.Resolved(b"", None, ""))
    lines: list[str] = []
    first = build.checkout("shop", str(repo), "main", None, lines.append)
    assert first.commit == git(repo, "rev-parse", "HEAD")
    hook = first.path / ".git" / "hooks" / "post-checkout"
    hook.write_text("#!/bin/sh\ntouch .git/hooked\n")  # where the jail may write
    hook.chmod(0o755)
    git(repo, "commit", "-qm", "two", "--allow-empty")
    second = build.checkout("shop", str(repo), "main", None, lines.append)
    assert second.commit == git(repo, "rev-parse", "HEAD")
    assert not (second.path / ".git" / "hooked").exists()
    assert [ln for ln in lines if ln.startswith("checked out")][-1].endswith(" two")
    assert os.listdir(repo / ".git" / "refs" / "heads") == ["main"]  # the source untouched
