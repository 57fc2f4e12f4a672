"""The world the hostile inputs are thrown at, and what the edges' tests share.

Every input must be refused clearly (CLI: exit 2, or 1 for a name that does not
exist, with one `rxpanel: ` line on stderr and no traceback; UI: a message in
the form, the dialog still open, or a toast; HTTP: a 4xx with a JSON `error`,
never a 5xx), and nothing may run or be written on the server: after each case
and after the whole suite, the sandbox's SSH logins and file tree, the panel's
deployments, apps, servers and users, and the marker files the payloads name
are as they were. The panel's database is read through the services
(tests/support/panel_db.py), as the panel reads it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import AppRepo
from tests.support.panel_db import panel_database
from tests.support.server import server_snapshot as full_server_snapshot

TARGET = "hostile-target"  # on the sandbox: what a hostile input that got through would hit
REPLAY = "hostile-replay"  # the webhook replay's app, on a server where nothing listens
NOWHERE = "hostile-nowhere"
OWN_ADMIN, OWN_PASSWORD = "hostile-admin", "hostile-admin-password-7"
PWN = "/tmp/pwn"
MARKERS = [Path(PWN)]  # every file a payload below tries to create
LONG = 5_000
MAX_MESSAGE = 400  # a clear refusal names the problem; it does not echo 5,000 characters
SHA = "c0ffee" * 6 + "abcd"  # a well-formed commit sha
FINAL = ("success", "failed", "superseded", "interrupted", "cancelled")
EVERY = 1_000_000  # "all of an app's deployments" for deployments.for_app


@dataclass
class Progress:
    """Which hostile cases this session collected and which have run (conftest.py's hooks
    keep it): the final check proves it comes after all of them."""

    collected: list[str] = field(default_factory=list)  # node ids, the final check aside
    ran: set[str] = field(default_factory=set)
    passed: set[str] = field(default_factory=set)


PROGRESS = Progress()


@dataclass
class World:
    panel: object
    sandbox: object
    repo: AppRepo
    server: str  # the panel's record of the sandbox
    admin: str
    password: str
    token: str
    secret: str  # TARGET's webhook secret
    replay_secret: str
    free_url: str  # a valid public URL no app uses, for otherwise valid forms
    baseline: dict = field(default_factory=dict)
    created_users: list[str] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)  # the cases checked against baseline

    def database(self) -> dict:
        """What a hostile input must not add: apps, servers, users, deployments
        (the replay app's own deployment aside)."""
        from rxpanel.services import apps, deployments, servers, users

        with panel_database(self.panel.home):
            every_app = apps.list_all()
            return {
                "apps": [a.name for a in every_app],
                "servers": [s.name for s in servers.list_all()],
                "users": [u.username for u in users.list_all()],
                "deployments": sorted(
                    d.id
                    for a in every_app
                    if a.name != REPLAY
                    for d in deployments.for_app(a.id, limit=EVERY)
                ),
            }

    def deployments_of(self, app: str) -> list[tuple[int, str, str | None]]:
        """(id, status, reason) of each of the app's deployments, oldest first."""
        from rxpanel.services import apps, deployments

        with panel_database(self.panel.home):
            found = deployments.for_app(apps.get(app).id, limit=EVERY)
        return [(d.id, d.status, d.reason) for d in reversed(found)]

    def state(self) -> dict:
        return {
            "server": server_snapshot(self.sandbox),
            "database": self.database(),
            "markers": [str(m) for m in MARKERS if m.exists()],
        }

    def assert_untouched(self, case: str) -> None:
        self.compared.append(case)
        now = self.state()
        for part in ("markers", "database", "server"):
            assert now[part] == self.baseline[part], (
                f"[{case}] the {part} changed:\nbefore: {self.baseline[part]}\nafter:  {now[part]}"
            )

    def sub(self, args: tuple[str, ...]) -> list[str]:
        """The case's arguments with the world's names put in."""
        names = {
            "@APP": TARGET,
            "@SERVER": self.server,
            "@KEY": str(self.sandbox.key_path),
            "@REPO": str(self.repo.path),
            "@URL": self.free_url,
            "@ADMIN": self.admin,
        }
        return [names.get(a, a) for a in args]


def server_snapshot(sandbox) -> tuple:
    """The server's SSH logins and files (tests/support/server.py), less what the standby
    timers left on the server by earlier deploys of other apps (other tests) touch by
    themselves: their transient `.lock`, their `standby` marker, and so the mtime of their
    app's directory."""
    logins, files = full_server_snapshot(sandbox)
    root = Path(sandbox.deploy_root)
    kept = []
    for path, mtime in files:
        rel = Path(path).relative_to(root).parts if Path(path).is_relative_to(root) else ()
        if rel and rel[0] not in (TARGET, REPLAY):
            if len(rel) == 1:
                mtime = None
            elif rel[1] in (".lock", "standby"):
                continue
        kept.append((path, mtime))
    return logins, kept


def run_cli(cli, args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rxpanel", *args],
        env=cli.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_admin(cli, name: str, password: str) -> None:
    r = run_cli(cli, ["user", "add", name, "--role", "admin", "--password-stdin"], password + "\n")
    assert r.returncode == 0, r.stdout + r.stderr


# -- the HTTP edges (webhook and API) ----------------------------------------------------


@dataclass(frozen=True)
class HttpCase:
    id: str
    make: Callable  # (world) -> (method, path, dict of httpx keyword arguments)
    status: int
    says: str
    # False only for a path the web framework itself turns away before any of the
    # panel's code runs (Reflex's mount does not match a path with a line break)
    json: bool = True

    def __str__(self) -> str:
        return self.id


def check_http(world: World, case: HttpCase, edge: str) -> None:
    method, path, kw = case.make(world)
    r = httpx.request(method, world.panel.url + path, timeout=60, **kw)
    shown = f"[{edge}:{case}] {method} {path[:80]}"
    assert r.status_code < 500, f"{shown}: {r.status_code} {r.text[:1000]}"
    assert r.status_code == case.status, f"{shown}: {r.status_code} {r.text[:1000]}"
    if not case.json:
        world.assert_untouched(f"{edge}:{case}")
        return
    try:
        data = r.json()
    except ValueError:
        raise AssertionError(f"{shown}: not JSON: {r.text[:500]!r}") from None
    message = data.get("error") or data.get("status") if isinstance(data, dict) else None
    assert message, f"{shown}: no error in {data!r}"
    assert re.search(case.says, str(message)), f"{shown}: unclear message {message!r}"
    assert len(str(message)) <= MAX_MESSAGE, f"{shown}: a {len(str(message))}-character message"
    world.assert_untouched(f"{edge}:{case}")
