"""Hostile input at every edge of the running panel: the dashboard's forms in headless
Chromium (test_ui), the CLI (test_cli), the push webhook (test_webhooks) and the HTTP API
(test_api); then a check that the whole suite ran nothing and wrote nothing
(test_zz_nothing_written, run last).

All of them share ONE world (this package's `world` fixture): one panel (the session's
`panel`), the real sandbox, the apps, server and admin made here, and the baseline every
case is compared with. The webhook replay, whose first delivery rightly queues one
deployment, is checked on its own app, on a server that is nowhere."""

from __future__ import annotations

import pytest

from tests.conftest import AppRepo, free_port, wait_for
from tests.integration.hostile.world import (
    FINAL,
    MARKERS,
    NOWHERE,
    OWN_ADMIN,
    OWN_PASSWORD,
    PROGRESS,
    REPLAY,
    TARGET,
    World,
    add_admin,
)
from tests.support.browser import ADMIN, PASSWORD
from tests.support.panel_db import forget_users

HERE = "tests/integration/hostile/"
LAST = "test_zz_nothing_written.py"


def _hostile(item) -> bool:
    return HERE in item.path.as_posix()


def pytest_collection_modifyitems(items):
    """The final check runs right after the last hostile case, whatever order the files were
    given in (and before anything else touches the panel)."""
    last = [i for i in items if _hostile(i) and i.path.name == LAST]
    rest = [i for i in items if i not in last]
    hostile = [n for n, i in enumerate(rest) if _hostile(i)]
    PROGRESS.collected = [rest[n].nodeid for n in hostile]
    if last:
        at = hostile[-1] + 1 if hostile else len(rest)
        items[:] = rest[:at] + last + rest[at:]


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":  # ran, or never got to
        PROGRESS.ran.add(report.nodeid)
    if report.when == "call" and report.passed:
        PROGRESS.passed.add(report.nodeid)


@pytest.fixture(scope="package")
def world(panel, sandbox, tmp_path_factory):
    cli = panel.cli
    if there := [str(m) for m in MARKERS if m.exists()]:
        pytest.fail(f"{there} exist before the suite: checking for them would prove nothing")
    # one server record per machine (as test_webhook_deploys): reuse the sandbox's
    same = [
        s["name"]
        for s in cli.json("server", "list")
        if (s["host"], s["port"]) == ("127.0.0.1", sandbox.ssh_port)
    ]
    server = same[0] if same else "hostile-sandbox"
    if not same:
        cli.ok(*sandbox.server_add_args(server))
    repo = AppRepo(tmp_path_factory.mktemp("hostile") / "app")
    cli.ok(
        *("app", "add", TARGET, "--server", server, "--source", str(repo.path)),
        *("--url", f"http://127.0.0.1:{free_port()}", "--env", "GREETING=hostile"),
    )
    cli.ok(
        *("server", "add", NOWHERE, "--host", "127.0.0.1", "--port", str(free_port())),
        *("--user", "nobody", "--key", str(sandbox.key_path), "--no-sudo"),
    )
    cli.ok(
        *("app", "add", REPLAY, "--server", NOWHERE, "--source", str(repo.path)),
        *("--url", f"http://127.0.0.1:{free_port()}"),
    )
    # the browser story's admin when it ran in this session; our own otherwise
    users = [u["name"] for u in cli.json("user", "list")]
    admin, password = (ADMIN, PASSWORD) if ADMIN in users else (OWN_ADMIN, OWN_PASSWORD)
    created = []
    if admin not in users:
        add_admin(cli, admin, password)
        created.append(admin)
    token = cli.json("token", "issue", admin, "--name", "hostile", "--scope", "deploy")
    w = World(
        panel=panel,
        sandbox=sandbox,
        repo=repo,
        server=server,
        admin=admin,
        password=password,
        token=token["token"],
        secret=cli.json("app", "webhook", TARGET)["secret"],
        replay_secret=cli.json("app", "webhook", REPLAY)["secret"],
        free_url=f"http://127.0.0.1:{free_port()}",
        created_users=created,
    )
    w.baseline = w.state()
    try:
        yield w
    finally:
        # leave the panel as we found it, for whatever runs next in the session
        wait_for(
            lambda: all(status in FINAL for _, status, _ in w.deployments_of(REPLAY)),
            timeout=180,
            what="the replay app's deployment to end",
        )
        cli.ok("token", "revoke", str(token["id"]))
        for name in (TARGET, REPLAY):
            cli.ok("app", "remove", name)
        cli.ok("server", "remove", NOWHERE)
        if not same:
            cli.ok("server", "remove", server)
        forget_users(panel.home, w.created_users)
