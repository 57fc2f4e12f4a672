"""An attacker's app, deployed through the panel like any other (issue 12): its
rxconfig.py runs in the build and again at every backend start on the server, and
tries from both places to read what is not its own. Everything it tries is refused,
nothing of the panel's reaches its deploy log, the process it leaves behind dies
with the build, and a committed symlink out of the tree is refused before anything
runs, the release before it still serving."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import AppRepo, free_port, get, wait_for

pytestmark = pytest.mark.integration

CANARY = "panel-canary-5f1c"  # in the environment of the panel process that builds
SLEEP = "313.25"  # the leftover process: `sleep 313.25`, found by its argument

ATTACK = '''\
import glob, os, subprocess
PANEL_HOME, DEPLOY_ROOT = {home!r}, {root!r}
WHERE = "server" if "/releases/" in os.getcwd() else "build"

def _probe(name, fn):
    try:
        fn()
        print("ATTACK", WHERE, name, "REACHED", flush=True)
    except Exception as e:
        print("ATTACK", WHERE, name, "refused", type(e).__name__, flush=True)

def _others(pattern):
    found = [p for p in glob.glob(os.path.join(DEPLOY_ROOT, pattern)) if "/attacker/" not in p]
    for path in found:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read()
    if not found:
        raise FileNotFoundError(pattern)

def _environs():
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                text = open("/proc/%s/environ" % pid, "rb").read()
            except OSError:
                continue
            if b"RXPANEL_HOME" in text or {canary!r}.encode() in text:
                return
    raise PermissionError("no environ of the panel")

_probe("secret.key", lambda: open(os.path.join(PANEL_HOME, "secret.key")).read())
_probe("database", lambda: open(os.path.join(PANEL_HOME, "rxpanel.db"), "rb").read())
_probe("other_workspace", lambda: os.listdir(os.path.join(PANEL_HOME, "builds", "demo")))
_probe("panel_environ", _environs)
_probe("write_panel_home", lambda: open(os.path.join(PANEL_HOME, "pwned"), "w").write("x"))
_probe("other_env", lambda: _others("*/current/env"))
_probe("other_shared", lambda: _others("*/shared"))
_probe("staging", lambda: open(os.path.join(DEPLOY_ROOT, "attacker", "tmp", "x.conf"), "w"))
print("ATTACK", WHERE, "environment", "RXPANEL_HOME" in os.environ, {canary!r} in str(os.environ), flush=True)
if WHERE == "build":
    subprocess.Popen(["sleep", {sleep!r}], start_new_session=True)
'''


def leftovers() -> list[str]:
    out = subprocess.run(["pgrep", "-f", f"sleep {SLEEP}"], capture_output=True, text=True)
    return out.stdout.split()


def log_text(cli, app: str) -> str:
    """The newest deployment's log as stored (what the UI and `rxpanel logs` show)."""
    return cli.ok("logs", str(cli.json("deployments", app)[0]["id"]))


@pytest.fixture(scope="module")
def attacker(cli, sandbox, sandbox_server, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("this test needs root: the sandbox's login must make the app's user")
    repo = AppRepo(tmp_path_factory.mktemp("attacker") / "sampleapp")
    rxconfig = repo.path / "rxconfig.py"
    attack = ATTACK.format(home=str(cli.home), root=sandbox.deploy_root, canary=CANARY, sleep=SLEEP)
    rxconfig.write_text(attack + "\n" + rxconfig.read_text())
    repo.commit("an rxconfig.py that tries everything")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app", "add", "attacker", "--server", sandbox_server, "--source", str(repo.path),
        "--url", url, "--health-timeout", "30",
    )  # fmt: skip
    return repo, url


def test_the_attackers_build_and_backend_reach_nothing(cli, sandbox, attacker):
    repo, url = attacker
    assert (cli.home / "secret.key").is_file()  # there to be read, if the jail let it
    others = list(Path(sandbox.deploy_root).glob("*/current/env"))
    assert others, "another app must be live on the sandbox for the server-side probes"
    env = {**cli.env, "RXPANEL_CANARY_FOR_TESTS": CANARY}
    result = subprocess.run(
        [*cli.base, "deploy", "attacker"], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    log = log_text(cli, "attacker")
    assert "ATTACK build " in result.stdout  # streamed as it ran, and stored:
    build = [line.split("ATTACK build ", 1)[1] for line in log.splitlines() if "ATTACK build " in line]
    probes = {line.split()[0]: line.split()[1] for line in build if line.split()[0] != "environment"}
    assert set(probes) >= {"secret.key", "database", "other_workspace", "panel_environ"}, build
    # a write "into the panel's home" succeeds only in the jail's own /tmp (the parents
    # of the workspace's bind mount; the test panel's home is under /tmp): never on the
    # host, checked below
    wrote = probes.pop("write_panel_home")
    assert all(result == "refused" for result in probes.values()), build
    assert "environment False False" in build
    secret = (cli.home / "secret.key").read_text().strip()
    for text in (log, result.stdout, result.stderr):
        assert secret not in text and CANARY not in text
    assert not (cli.home / "pwned").exists(), wrote
    assert wait_for(lambda: not leftovers(), timeout=10, what="the build's leftover to die")

    # the same rxconfig.py at the backend's start on the server, as the app's own user
    live = (Path(sandbox.deploy_root) / "attacker" / "live").read_text().split()[0]
    server_log = Path(sandbox.deploy_root) / "attacker" / "logs" / f"{live}.log"
    lines = wait_for(
        lambda: [
            line.split("ATTACK server ", 1)[1]
            for line in server_log.read_text().splitlines()
            if "ATTACK server " in line and "environment" not in line
        ],
        what="the backend's probes in its log",
    )
    probes = {line.split()[0]: line.split()[1:] for line in lines}
    assert set(probes) >= {"secret.key", "other_env", "other_shared", "staging"}, lines
    assert all(p[0] == "refused" for p in probes.values()), lines
    assert probes["other_env"][1] == "PermissionError", lines  # there, and not its own
    assert get(f"{url}/ping").json() == "pong"


def test_a_committed_symlink_out_of_the_tree_is_refused(cli, sandbox, attacker):
    repo, url = attacker
    before = [r for r in cli.json("releases", "attacker") if r["current"]][0]
    (repo.path / "leak.txt").symlink_to(os.path.relpath(cli.home / "secret.key", repo.path))
    repo.commit("ship the panel's key with the backend")
    result = cli("deploy", "attacker")
    assert result.returncode == 1, result.stdout + result.stderr
    reason = cli.json("deployments", "attacker")[0]["reason"]
    assert "the source has a symlink that leaves it: leak.txt -> " in reason, reason
    assert "remove the link" in reason
    after = [r for r in cli.json("releases", "attacker") if r["current"]][0]
    assert after["id"] == before["id"]
    assert get(f"{url}/ping").json() == "pong"
