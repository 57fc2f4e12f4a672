"""`rxpanel sandbox ...`, `db upgrade`, `worker`: running things on this machine."""

from __future__ import annotations

import argparse

from rxpanel.cli import snapshots
from rxpanel.cli.common import sub


def sandbox_up(a) -> int:
    from rxpanel import sandbox

    sb = sandbox.up(a.dir, ssh_port=a.ssh_port, http_port=a.http_port, netns=a.netns)
    where = f" (network namespace {sb.netns})" if sb.netns else ""
    print(
        f"sandbox running in {sb.dir}{where}: sshd on {sb.host}:{sb.ssh_port}, "
        f"nginx on {sb.host}:{sb.http_port}"
    )
    print("add it as a server with:")
    print(f"  {sb.server_add_line()}")
    return 0


def sandbox_down(a) -> int:
    from rxpanel import sandbox

    sandbox.down(a.dir)
    print(f"sandbox in {a.dir} stopped")
    return 0


def db_upgrade(a) -> int:
    from rxpanel import db, settings

    db.upgrade()
    print(f"database is up to date ({settings.get().db_url.split('://')[0]})")
    return 0


def worker(a) -> int:
    """Run the deploy runner and the health checks in this process (one leads)."""
    import logging

    from rxpanel import worker as work

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    w = work.Worker()
    print(f"worker {w.id} started (Ctrl-C to stop)", flush=True)
    try:
        w.run()
    except KeyboardInterrupt:
        pass
    return 0


def register(commands) -> None:
    box = sub(commands, "sandbox", help="a local target server")
    s = box.add_parser("up")
    s.add_argument("dir")
    s.add_argument("--ssh-port", type=int)
    s.add_argument("--http-port", type=int)
    s.add_argument(
        "--netns",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run it as its own host, in a network namespace (root; default: as it ran before)",
    )
    s.set_defaults(func=sandbox_up, no_db=True, local_only=True)
    s = box.add_parser("down")
    s.add_argument("dir")
    s.set_defaults(func=sandbox_down, no_db=True, local_only=True)
    dbs = sub(commands, "db")
    dbs.add_parser("upgrade").set_defaults(func=db_upgrade)
    snapshots.register(dbs)
    s = commands.add_parser(
        "worker", help="run the deploy runner and health checks (one process leads)"
    )
    s.set_defaults(func=worker)
