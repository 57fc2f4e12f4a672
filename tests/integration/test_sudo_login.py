"""A server whose SSH login is not root but has passwordless sudo (the usual cloud
image): the deploy makes the app's own Unix user through sudo, runs it as that user,
and the login itself cannot read the app's env or data; deleting the app deletes
its user. Its own sandbox (real sshd, nginx, supervisord), with `rxdeploy` allowed
to log in beside root."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AppRepo, free_port, get, wait_for

pytestmark = pytest.mark.integration

LOGIN = "rxdeploy"
SUDOERS = Path("/etc/sudoers.d/rxpanel-tests-rxdeploy")


@pytest.fixture(scope="module")
def sudo_box(cli, tmp_path_factory):
    from rxpanel import sandbox as sb

    if os.geteuid() != 0:
        pytest.fail("this test needs root: it makes a login user with sudo")
    assert shutil.which("sudo"), "sudo is missing: make test installs it (TEST_DEBS)"
    try:
        pwd.getpwnam(LOGIN)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", LOGIN], check=True)
    # no password, and not locked ("!" would make sshd refuse even a key)
    subprocess.run(["usermod", "-p", "*", LOGIN], check=True)
    SUDOERS.write_text(f"{LOGIN} ALL=(ALL) NOPASSWD: ALL\n")
    SUDOERS.chmod(0o440)
    box = sb.up(tmp_path_factory.mktemp("sudo-sandbox"))
    # sshd reads authorized keys as the user logging in: the login gets its own copy
    login = pwd.getpwnam(LOGIN)
    ssh_dir = Path(login.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    keys.write_text(Path(box.path("ssh", "authorized_keys")).read_text())
    for path in (ssh_dir, keys):
        os.chown(path, login.pw_uid, login.pw_gid)
    conf = Path(box.path("ssh", "sshd_config"))
    text = conf.read_text().replace("AllowUsers root", f"AllowUsers root {LOGIN}")
    text = text.replace("/authorized_keys\n", "/authorized_keys .ssh/authorized_keys\n", 1)
    conf.write_text(text)
    os.kill(int(Path(box.path("ssh", "sshd.pid")).read_text()), signal.SIGHUP)  # re-reads it
    root = Path(box.dir) / "srv-sudo"  # the login's own deploy root
    root.mkdir()
    os.chown(root, login.pw_uid, login.pw_gid)
    args = box.server_add_args("sudo-box")
    args[args.index("--user") + 1] = LOGIN
    args[args.index("--no-sudo")] = "--sudo"
    args[args.index("--deploy-root") + 1] = str(root)
    cli.ok(*args)
    # sshd re-execs on SIGHUP: the first login may come before it listens again
    wait_for(lambda: cli("server", "check", "sudo-box").returncode == 0, what="a sudo login")
    yield box, root
    SUDOERS.unlink(missing_ok=True)
    sb.down(box.dir)


def test_a_sudo_login_deploys_the_app_as_its_own_user(cli, sudo_box, tmp_path_factory):
    box, root = sudo_box
    check = cli("server", "check", "sudo-box")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "each app runs as a Unix user of its own (made through sudo)" in check.stdout
    repo = AppRepo(tmp_path_factory.mktemp("sudo-app") / "sampleapp")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app", "add", "sudo-app", "--server", "sudo-box", "--source", str(repo.path),
        "--url", url, "--health-timeout", "30", "--env", "TOKEN=only-for-the-app",
    )  # fmt: skip
    result = cli("deploy", "sudo-app")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "made the Unix user rxa-sudo-app for the app" in result.stdout
    assert get(f"{url}/ping").json() == "pong"
    assert get(f"{url}/").status_code == 200  # the frontend, through nginx's group

    rel = (root / "sudo-app" / "current").resolve()
    env = rel / "env"
    assert pwd.getpwuid(env.stat().st_uid).pw_name == "rxa-sudo-app"
    assert env.stat().st_mode & 0o777 == 0o600
    assert pwd.getpwuid((root / "sudo-app" / "tmp").stat().st_uid).pw_name == LOGIN
    for attempt in (f"cat {env}", f"ls {root}/sudo-app/shared"):  # the login, without sudo
        denied = subprocess.run(
            ["runuser", "-u", LOGIN, "--", "sh", "-c", attempt], capture_output=True, text=True
        )
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, attempt

    repo.set_version("v2")
    assert cli("deploy", "sudo-app").returncode == 0
    assert get(f"{url}/api/version").json()["version"] == "v2"
    back = cli("rollback", "sudo-app")
    assert back.returncode == 0, back.stdout + back.stderr
    assert get(f"{url}/api/version").json()["version"] != "v2"

    gone = cli("app", "remove", "sudo-app", "--purge")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not (root / "sudo-app").exists()
    with pytest.raises(KeyError):
        pwd.getpwnam("rxa-sudo-app")
