"""deploy/commands/check.py: what `server check` runs (exact strings, syntax, behaviour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rxpanel.deploy.commands import check

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
        ("nginx conf dir writable", "sh -c 'mkdir -p /x/nginx && test -w /x/nginx'"),
        ("supervisor conf dir writable", "sh -c 'mkdir -p /x/supervisor && test -w /x/supervisor'"),
    ]


def test_check_items_sudo():
    items = dict(check.items(SUDO))
    assert list(items) == [label for label, _ in check.items(PLAIN)]
    assert items["nginx -t"] == "sudo -n nginx -t 2>&1"
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
