"""`server check`: one command per item, reported item by item."""

from __future__ import annotations

from rxpanel.deploy.commands.base import Host, q

PYTHON_OK = (
    "import sys, venv, ensurepip; v = sys.version_info; "
    "print('python %d.%d.%d with venv' % v[:3]); sys.exit(0 if v >= (3, 10) else 1)"
)


def writable(host: Host, path: str) -> str:
    """Conf dirs are written with sudo when the server says so."""
    return host.priv(f"sh -c {q(f'mkdir -p {q(path)} && test -w {q(path)}')}")


def deploy_root_writable(host: Host) -> str:
    """The deploy root is always written as the SSH user, never with sudo."""
    root = q(host.deploy_root)
    make = f"mkdir -p {root} 2>/dev/null"
    if host.sudo:  # let sudo create it, owned by the user
        make = f"{{ {make} || sudo -n install -d -o {q(host.user)} {root}; }}"
    return f"{make} && test -w {root}"


def items(host: Host) -> list[tuple[str, str]]:
    return [
        ("SSH login", 'echo "logged in as $(id -un) on $(hostname)"'),
        ("python3 >= 3.10 with venv", f"python3 -c {q(PYTHON_OK)}"),
        ("nginx -t", f"{host.nginx('-t')} 2>&1"),
        (
            "supervisorctl reachable",
            f'pid=$({host.supervisorctl("pid")} 2>&1); case "$pid" in '
            '\'\'|*[!0-9]*) echo "$pid"; exit 1 ;; *) echo "supervisord pid $pid" ;; esac',
        ),
        ("deploy root writable", deploy_root_writable(host)),
        ("nginx conf dir writable", writable(host, host.nginx_conf_dir)),
        ("supervisor conf dir writable", writable(host, host.supervisor_conf_dir)),
    ]
