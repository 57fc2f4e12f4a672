"""deploy/commands/check.py: what `server check` runs (exact strings, syntax, behaviour)."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import pytest

from rxpanel.deploy.commands import Host, check

from ._support import PLAIN, SANDBOX, SHELLS, SUDO, assert_syntax, simple_commands, syntax_cases

EXACT = [
    pytest.param(
        check.writable(PLAIN, "/srv/my apps"),
        "sh -c 'mkdir -p '\"'\"'/srv/my apps'\"'\"' && test -w '\"'\"'/srv/my apps'\"'\"''",
        id="check.writable",
    ),
    pytest.param(
        check.writable(SUDO, "/etc/nginx/conf.d"),
        "sudo -n sh -c 'mkdir -p /etc/nginx/conf.d && test -w /etc/nginx/conf.d'",
        id="check.writable-sudo",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


PYTHON_OK = (
    "python3 -c 'import sys, venv, ensurepip; v = sys.version_info; "
    "print('\"'\"'python %d.%d.%d with venv'\"'\"' % v[:3]); sys.exit(0 if v >= (3, 10) else 1)'"
)


NGINX_READS_PLAIN = """\
root=/srv/rxpanel
conf=$(nginx -T 2>/dev/null)
pidfile=$(printf '%s\\n' "$conf" | awk '$1 == "pid" { sub(/;.*/, "", $2); p = $2 } END { print p }')
master=$(cat "${pidfile:-/run/nginx.pid}" 2>/dev/null)
uid=$(stat -c %u "/proc/${master:-none}" 2>/dev/null)
if [ -z "$uid" ] || [ "$uid" = 0 ]; then
    name=$(printf '%s\\n' "$conf" | awk '$1 == "user" { sub(/;.*/, "", $2); print $2; exit }')
    uid=$(id -u "${name:-www-data}" 2>/dev/null) || { echo "nginx's user ${name:-www-data} does not exist"; exit 1; }
fi
name=$(id -nu "$uid" 2>/dev/null || echo "$uid")
if [ "$uid" = 0 ] || [ "$uid" = "$(id -u)" ]; then
    echo "nginx runs as $name, who can read $root"
    exit 0
fi
gids=" $(id -G "$uid" 2>/dev/null) "
blocked=""
d=$root
while :; do
    if set -- $(stat -L -c '%u %g %a' "$d" 2>/dev/null) && [ -n "${3:-}" ]; then
        if [ "$1" = "$uid" ]; then bit=64
        else case "$gids" in *" $2 "*) bit=8 ;; *) bit=1 ;; esac
        fi
        if [ $(( 0$3 & bit )) -eq 0 ]; then
            blocked="$d (mode $3, owner $(stat -L -c '%U:%G' "$d")); $blocked"
        fi
    fi
    [ "$d" = / ] && break
    d=$(dirname "$d")
done
if [ -n "$blocked" ]; then
    echo "nginx runs as $name, who cannot enter ${blocked%; }: let it in (chmod o+x, or add $name to the group) or choose another deploy root"
    exit 1
fi
echo "nginx runs as $name, who can read $root"
"""


def test_nginx_reads_deploy_root_with_sudo():
    cmd = check.nginx_reads_deploy_root(SUDO)
    assert cmd == "sh -c " + shlex.quote(NGINX_READS_PLAIN.replace("nginx -T", "sudo -n nginx -T"))


def test_check_items_plain():
    assert check.items(PLAIN) == [
        ("SSH login", 'echo "logged in as $(id -un) on $(hostname)"'),
        ("python3 >= 3.10 with venv", PYTHON_OK),
        ("nginx -t", "nginx -t 2>&1"),
        (
            "supervisorctl reachable",
            'pid=$(supervisorctl pid 2>&1); case "$pid" in \'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac',
        ),
        ("deploy root writable", "mkdir -p /srv/rxpanel 2>/dev/null && test -w /srv/rxpanel"),
        ("nginx can read the deploy root", "sh -c " + shlex.quote(NGINX_READS_PLAIN)),
        ("app isolation", "echo 'each app runs as a Unix user of its own (made as root)'"),
        (
            "nginx conf dir writable",
            "sh -c 'mkdir -p /etc/nginx/conf.d && test -w /etc/nginx/conf.d'",
        ),
        (
            "supervisor conf dir writable",
            "sh -c 'mkdir -p /etc/supervisor/conf.d && test -w /etc/supervisor/conf.d'",
        ),
    ]


def test_check_items_sandbox():
    assert check.items(SANDBOX) == [
        ("SSH login", 'echo "logged in as $(id -un) on $(hostname)"'),
        ("python3 >= 3.10 with venv", PYTHON_OK),
        ("nginx -t", "/usr/sbin/nginx -c /x/nginx.conf -p /x/ -t 2>&1"),
        (
            "supervisorctl reachable",
            'pid=$(/usr/bin/supervisorctl -c /x/s.conf pid 2>&1); case "$pid" in '
            '\'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac',
        ),
        ("deploy root writable", "mkdir -p /x/srv 2>/dev/null && test -w /x/srv"),
        (
            "nginx can read the deploy root",
            "sh -c "
            + shlex.quote(
                NGINX_READS_PLAIN.replace(
                    "nginx -T", "/usr/sbin/nginx -c /x/nginx.conf -p /x/ -T"
                ).replace("/srv/rxpanel", "/x/srv")
            ),
        ),
        (
            "app isolation",
            "echo 'apps run as rx, the SSH login: without root or sudo no app gets a Unix user "
            "of its own, so every app on this server can read the others'\"'\"' env and data'",
        ),
        ("nginx conf dir writable", "sh -c 'mkdir -p /x/nginx && test -w /x/nginx'"),
        ("supervisor conf dir writable", "sh -c 'mkdir -p /x/supervisor && test -w /x/supervisor'"),
    ]


def test_check_items_sudo():
    items = dict(check.items(SUDO))
    assert list(items) == [label for label, _ in check.items(PLAIN)]
    assert items["nginx -t"] == "sudo -n nginx -t 2>&1"
    assert items["app isolation"] == (
        "echo 'each app runs as a Unix user of its own (made through sudo)'"
    )
    assert (
        items["supervisorctl reachable"]
        == 'pid=$(sudo -n supervisorctl pid 2>&1); case "$pid" in \'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac'
    )
    assert items["nginx conf dir writable"] == (
        "sudo -n sh -c 'mkdir -p /etc/nginx/conf.d && test -w /etc/nginx/conf.d'"
    )
    assert items["supervisor conf dir writable"] == (
        "sudo -n sh -c 'mkdir -p /etc/supervisor/conf.d && test -w /etc/supervisor/conf.d'"
    )


@pytest.mark.parametrize("host", [PLAIN, SUDO, SANDBOX], ids=["plain", "sudo", "sandbox"])
def test_check_tests_writability_as_whoever_writes(host):
    """The conf dirs are written through `priv` (install), so they are tested that way;
    the deploy root is written by the SSH user itself (lock, prepare, unpack, activate
    never use sudo), so it must be tested as that user: as root, `test -w` always
    passes, and `sudo mkdir -p` would leave a root-owned deploy root behind."""
    items = dict(check.items(host))

    def test_w_privileges(label):
        return [p for words, p in simple_commands(items[label]) if words[:2] == ["test", "-w"]]

    assert test_w_privileges("deploy root writable") == [False]
    assert test_w_privileges("nginx conf dir writable") == [host.sudo]
    assert test_w_privileges("supervisor conf dir writable") == [host.sudo]


def commands(app) -> dict[str, str]:
    return {f"check {label}": cmd for label, cmd in check.items(app.host)}


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


def test_check_items_run(world):
    host = world.app.host
    results = {label: world.run(cmd, SUP_PID="4242") for label, cmd in check.items(host)}
    assert {label: r.returncode for label, r in results.items()} == {
        label: 0 for label, _ in check.items(host)
    }
    assert results["SSH login"].stdout.startswith("logged in as ")
    assert results["python3 >= 3.10 with venv"].stdout.startswith("python 3.")
    assert results["supervisorctl reachable"].stdout == "supervisord pid 4242\n"
    assert Path(host.deploy_root).is_dir()  # made by the check


def test_check_supervisorctl_unreachable(world):
    cmd = dict(check.items(world.app.host))["supervisorctl reachable"]
    result = world.run(cmd, SUP_PID="unix:///x/supervisor.sock no such file")
    assert result.returncode == 1


# -- can nginx's worker user reach the deploy root? (as root, with `nobody`) -----------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")


def nginx_check(world, root: Path, **env: str):
    host = Host(deploy_root=str(root), nginx_cmd=f"{world.bin}/nginx")
    return world.run(check.nginx_reads_deploy_root(host), **env)


@pytest.fixture
def open_tmp():
    """A directory everyone may enter (pytest's own tmp_path is 0700 to others)."""
    path = Path(tempfile.mkdtemp(prefix="rxpanel check "))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=True)


@needs_root
def test_a_0700_parent_keeps_nginx_out_and_is_named(world, open_tmp):
    private = open_tmp / "home 'deploy'"
    root = private / "srv"
    root.mkdir(parents=True)
    private.chmod(0o700)
    result = nginx_check(world, root, NGINX_USER="nobody")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == (
        f"nginx runs as nobody, who cannot enter {private} (mode 700, owner root:root): "
        "let it in (chmod o+x, or add nobody to the group) or choose another deploy root\n"
    )


@needs_root
def test_a_home_with_750_keeps_nginx_out_unless_it_is_in_the_group(world, open_tmp):
    home = open_tmp / "home"
    (home / "srv").mkdir(parents=True)
    home.chmod(0o750)
    os.chown(home, 0, 65534)  # group nogroup, nobody's own group
    assert nginx_check(world, home / "srv", NGINX_USER="nobody").returncode == 0
    os.chown(home, 0, 0)
    result = nginx_check(world, home / "srv", NGINX_USER="nobody")
    assert result.returncode == 1
    assert f"cannot enter {home} (mode 750, owner root:root)" in result.stdout


@needs_root
def test_an_open_path_passes(world, open_tmp):
    (open_tmp / "srv").mkdir()
    result = nginx_check(world, open_tmp / "srv", NGINX_USER="nobody")
    assert result.returncode == 0, result.stdout
    assert result.stdout == f"nginx runs as nobody, who can read {open_tmp / 'srv'}\n"


def test_nginx_as_the_ssh_user_passes_trivially(world):
    """The sandbox: nginx runs as the user rxpanel logs in as."""
    result = nginx_check(world, world.tmp / "private" / "srv")
    assert result.returncode == 0
    assert result.stdout.startswith("nginx runs as ")


def test_a_running_non_root_master_decides_the_user(world, tmp_path):
    """A master not run by root cannot switch users: `user` is ignored."""
    pid_file = tmp_path / "nginx.pid"
    pid_file.write_text(str(os.getpid()))  # a process of this user
    result = nginx_check(world, tmp_path / "srv", NGINX_PID_FILE=str(pid_file), NGINX_USER="x")
    if os.geteuid() == 0:  # the master is root: the `user` directive counts, and x is nobody
        assert result.stdout == "nginx's user x does not exist\n"
    else:
        assert result.returncode == 0


def test_an_unknown_nginx_user_is_said(world, tmp_path):
    result = nginx_check(world, tmp_path, NGINX_USER="no-such-user")
    assert result.returncode == 1
    assert result.stdout == "nginx's user no-such-user does not exist\n"
