"""`rxpanel server ...`: the SSH targets."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from rxpanel.cli.common import (
    EXIT_FAILED,
    CliError,
    actor,
    print_json,
    record,
    remote,
    sub,
    table,
)


def add(a) -> int:
    from rxpanel.services import servers

    # a flag not given is None: the server's default (services.servers.DEFAULTS, read
    # from the model, which the parser does not import so that --help starts fast)
    given = {k: getattr(a, k) for k in ("port", *PATHS) if getattr(a, k) is not None}
    data = servers.ServerInput(
        name=a.name, host=a.host, user=a.user or getpass.getuser(), sudo=a.sudo, **given
    )
    data.cleaned()  # refuse bad input before looking for the key
    server = servers.add(data, servers.read_key_file(a.key or _default_key()))
    record("server.add", f"server:{server.name}", f"{server.user}@{server.host}:{server.port}")
    print(
        f"server {server.name} added ({server.user}@{server.host}:{server.port}); "
        f"run `rxpanel server check {server.name}` to test it"
    )
    return 0


PATHS = ("deploy_root", "nginx_conf_dir", "nginx_cmd", "supervisor_conf_dir", "supervisorctl_cmd")


def update(a) -> int:
    from rxpanel.services import servers

    fields = ("host", "port", *servers.FIELDS)
    current = servers.public(servers.get(a.name))
    changed = {k: getattr(a, k) for k in fields if getattr(a, k) is not None}
    data = servers.ServerInput(name=a.name, **{**{k: current[k] for k in fields}, **changed})
    data.cleaned()
    key = servers.read_key_file(a.key) if a.key else None
    servers.update(a.name, data, key)
    record(
        "server.update",
        f"server:{a.name}",
        ", ".join(sorted(changed)) + (" and a new key" if key else ""),
    )
    print(f"server {a.name} updated")
    return 0


def _default_key() -> str:
    for name in ("id_ed25519", "id_ecdsa", "id_rsa"):
        path = Path.home() / ".ssh" / name
        if path.exists():
            return str(path)
    raise CliError("no --key given and no ~/.ssh/id_ed25519, id_ecdsa or id_rsa found")


def show(rows: list[dict], as_json: bool) -> int:
    if as_json:
        print_json(rows)
    elif not rows:
        print("no servers yet: `rxpanel server add NAME --host H`, or `rxpanel sandbox up DIR`")
    else:
        table(
            [
                [
                    r["name"],
                    f"{r['user']}@{r['host']}:{r['port']}",
                    r["deploy_root"],
                    r["host_key"] or "(not yet connected)",
                ]
                for r in rows
            ],
            ["NAME", "LOGIN", "DEPLOY ROOT", "HOST KEY"],
        )
    return 0


def list_(a) -> int:
    from rxpanel.services import servers

    return show([servers.public(s) for s in servers.list_all()], a.json)


@remote(list_)
def list_remote(a, panel) -> int:
    return show(panel.call("GET", "/servers"), a.json)


def check(a) -> int:
    from rxpanel import actions

    failed = 0
    for item in actions.check_server(a.name, actor()):
        print(f"{'✓' if item.ok else '✗'} {item.label}: {item.detail}", flush=True)
        failed += not item.ok
    if failed:
        print(f"{failed} check(s) failed", file=sys.stderr)
        return EXIT_FAILED
    return 0


def remove(a) -> int:
    from rxpanel.services import servers

    servers.delete(a.name)
    record("server.delete", f"server:{a.name}")
    print(f"server {a.name} removed")
    return 0


def forget_key(a) -> int:
    from rxpanel.services import servers

    servers.forget_host_key(a.name)
    record("server.forget_host_key", f"server:{a.name}")
    print(f"the recorded host key of {a.name} is forgotten; the next connection records a new one")
    return 0


def register(commands) -> None:
    server = sub(commands, "server", help="SSH targets")
    s = server.add_parser("add", help="store a server (does not connect)")
    s.add_argument("name")
    s.add_argument("--host", required=True)
    s.add_argument("--port")
    s.add_argument("--user")
    s.add_argument("--key", help="private key file (stored encrypted; not needed afterwards)")
    s.add_argument("--sudo", action=argparse.BooleanOptionalAction, default=False)
    for flag in ("--" + name.replace("_", "-") for name in PATHS):
        s.add_argument(flag)
    s.set_defaults(func=add)
    s = server.add_parser("update", help="change a server's login, paths or commands")
    s.add_argument("name")
    s.add_argument("--host")
    s.add_argument("--port")
    s.add_argument("--user")
    s.add_argument("--key", help="a new private key file")
    s.add_argument("--sudo", action=argparse.BooleanOptionalAction, default=None)
    for flag in (
        "--deploy-root",
        "--nginx-conf-dir",
        "--nginx-cmd",
        "--supervisor-conf-dir",
        "--supervisorctl-cmd",
    ):
        s.add_argument(flag)
    s.set_defaults(func=update)
    s = server.add_parser("list")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=list_)
    s = server.add_parser("check", help="connect and check what deploys need")
    s.add_argument("name")
    s.set_defaults(func=check)
    s = server.add_parser("remove")
    s.add_argument("name")
    s.set_defaults(func=remove)
    s = server.add_parser("forget-host-key", help="after a server was really reinstalled")
    s.add_argument("name")
    s.set_defaults(func=forget_key)
