"""The deploy engine end to end: a real Reflex app from a real git repo, built
and deployed over SSH to the sandbox (real sshd, nginx, supervisord).

The tests run in file order as one story; each leaves the app serving a known
version, and each failure test checks that the version before keeps serving."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import AppRepo, free_port, get, wait_for
from tests.support.server import server_snapshot, wait_out_standby_stops

pytestmark = pytest.mark.integration

SECRET = "s3cr3t-value-for-tests"
CRASH_AT_START = (
    'import os\nif "/releases/" in os.getcwd():\n    raise RuntimeError("boom at start")\n'
)
SLOW_START = 'import os, time\nif "/releases/" in os.getcwd():\n    time.sleep(8)\n'


class Story:
    def __init__(self, cli, sandbox, repo: AppRepo, url: str):
        self.cli, self.sandbox, self.repo, self.url = cli, sandbox, repo, url
        self.app_dir = Path(sandbox.deploy_root) / "demo"

    def app(self) -> dict:
        """This story's app in `app list` (other modules add apps to the same panel)."""
        return next(a for a in self.cli.json("app", "list") if a["name"] == "demo")

    def version(self) -> str:
        return get(f"{self.url}/api/version").json()["version"]

    def page_version(self) -> str:
        html = get(f"{self.url}/").text
        return html.split("sample ", 1)[1].split("<", 1)[0] if "sample " in html else ""

    def deploy(self, *extra: str):
        return self.cli("deploy", "demo", *extra)

    def deployments(self) -> list[dict]:
        return self.cli.json("deployments", "demo")

    def releases(self) -> list[dict]:
        return self.cli.json("releases", "demo")

    def supervisor(self, *args: str) -> str:
        cmd = [*self.sandbox.supervisorctl_cmd.split(), *args]
        return subprocess.run(cmd, capture_output=True, text=True).stdout

    def lock_free(self) -> bool:
        return not (self.app_dir / ".lock").exists()

    def site_conf(self) -> str:
        return (Path(self.sandbox.nginx_conf_dir) / "rxpanel-demo.conf").read_text()

    def assert_failed_and_still_serving(self, result, version: str, reason_part: str):
        assert result.returncode == 1, result.stdout + result.stderr
        last = self.deployments()[0]
        assert last["status"] == "failed"
        assert reason_part in last["reason"], last["reason"]
        assert reason_part in result.stderr
        assert self.version() == version
        assert self.page_version() == version
        assert self.lock_free()


@pytest.fixture(scope="module")
def story(cli, sandbox, sandbox_server, tmp_path_factory) -> Story:
    repo = AppRepo(tmp_path_factory.mktemp("repo") / "sampleapp")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app",
        "add",
        "demo",
        "--server",
        sandbox_server,
        "--source",
        str(repo.path),
        "--url",
        url,
        "--env",
        f"GREETING={SECRET}",
        "--health-timeout",
        "20",
    )
    return Story(cli, sandbox, repo, url)


def test_server_check_reports_each_item(cli, sandbox_server):
    out = cli.ok("server", "check", sandbox_server)
    for item in (
        "SSH login",
        "python3 >= 3.10",
        "nginx -t",
        "supervisorctl reachable",
        "deploy root writable",
        "nginx can read the deploy root",
        "nginx conf dir writable",
        "supervisor conf dir writable",
    ):
        assert f"✓ {item}" in out
    server = next(s for s in cli.json("server", "list") if s["name"] == sandbox_server)
    assert server["host_key"].startswith("SHA256:")


def test_first_deploy_serves_the_app(story):
    result = story.deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in (
        "checkout",
        "lock",
        "build",
        "server venv",
        "upload backend",
        "upload frontend",
        "start blue",
        "health gate",
        "switch",
        "public check",
        "finish",
    ):
        assert f"✓ {step} (" in out, step
    assert story.version() == "v1" and story.page_version() == "v1"
    assert get(f"{story.url}/ping").json() == "pong"
    assert get(f"{story.url}/_health").json()["status"] is True
    # client-side routes get the SPA fallback; other clients the app's 404 page, status 404
    assert get(f"{story.url}/items/7", headers={"Accept": "text/html"}).status_code == 200
    assert get(f"{story.url}/api/missing").status_code == 404
    assert get(f"{story.url}/about").status_code == 200
    # the websocket endpoint upgrades through nginx
    ws = get(
        f"{story.url}/_event/?EIO=4&transport=websocket",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert ws.status_code == 101
    # precompressed assets are served as such
    assert (
        get(f"{story.url}/", headers={"Accept-Encoding": "gzip"}).headers.get("content-encoding")
        == "gzip"
    )
    assert (story.app_dir / "current").resolve().name == story.releases()[0]["id"]
    assert "RUNNING" in story.supervisor("status", "rxpanel-demo-blue")


def test_env_reaches_the_app_and_secrets_stay_secret(story, cli):
    assert get(f"{story.url}/api/greeting").json()["greeting"] == SECRET
    logs = cli.ok("logs", str(story.deployments()[0]["id"]))
    assert SECRET not in logs
    assert SECRET not in cli.ok("app", "list", "--json")
    db = (cli.home / "rxpanel.db").read_bytes()
    assert SECRET.encode() not in db
    key_text = Path(story.sandbox.key_path).read_text().splitlines()[1]
    assert key_text.encode() not in db  # the SSH key is stored encrypted too
    env_file = story.app_dir / "current" / "env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    # nowhere in the panel's data directory: database, WAL, build workspaces and caches
    hook_secret = cli.json("app", "webhook", "demo")["secret"]
    needles = [SECRET.encode(), key_text.encode(), hook_secret.encode()]
    leaks = [
        str(f)
        for f in cli.home.rglob("*")
        if f.is_file() and not f.is_symlink() and any(n in f.read_bytes() for n in needles)
    ]
    assert leaks == []


def test_code_change_deploys_to_the_other_colour(story):
    story.repo.set_version("v2")
    result = story.deploy()
    assert result.returncode == 0, result.stderr
    assert "start green" in result.stdout
    assert "frontend changed (or not bundled before): bundling" in result.stdout  # a new heading
    assert story.version() == "v2" and story.page_version() == "v2"
    # the old colour stays up as a warm standby
    assert "RUNNING" in story.supervisor("status", "rxpanel-demo-blue")
    assert (story.app_dir / "standby").read_text().split()[0] == "blue"
    statuses = [r["status"] for r in story.releases()]
    assert statuses[:2] == ["live", "good"]


def test_rollback_to_the_warm_release_is_instant(story):
    previous = story.releases()[1]["id"]
    result = story.cli("rollback", "demo")
    assert result.returncode == 0, result.stderr
    assert "still warm" in result.stdout
    assert "start blue" not in result.stdout and "start green" not in result.stdout
    assert story.version() == "v1" and story.page_version() == "v1"
    current = [r for r in story.releases() if r["current"]][0]
    assert current["id"] == previous
    assert current["commit"] == story.repo.git("rev-parse", "HEAD~1")


def test_redeploy_of_the_same_commit_reuses_the_build(story):
    # after the rollback, v2 is the warm standby: no build, no upload, no restart
    result = story.deploy()
    assert result.returncode == 0, result.stderr
    assert "already holds this build: no build, no upload" in result.stdout
    assert "still warm" in result.stdout
    assert story.version() == "v2"
    # again, now that v2 is live: it restarts on the other colour (zero downtime)
    result = story.deploy()
    assert result.returncode == 0, result.stderr
    assert "already holds this build: no build, no upload" in result.stdout
    assert "✓ start " in result.stdout
    assert story.version() == "v2"


def test_rollback_to_a_chosen_release_and_its_env_snapshot(story, cli):
    cli.ok("app", "env", "demo", "GREETING=changed")
    story.repo.set_version("v3")
    assert story.deploy().returncode == 0
    assert get(f"{story.url}/api/greeting").json()["greeting"] == "changed"
    v1 = [r for r in story.releases() if r["commit"] == story.repo.git("rev-parse", "HEAD~2")][0]
    result = story.cli("rollback", "demo", "--to", v1["id"])
    assert result.returncode == 0, result.stderr
    assert story.version() == "v1"
    assert get(f"{story.url}/api/greeting").json()["greeting"] == SECRET
    # roll forward again for the next tests
    assert story.deploy().returncode == 0
    assert story.version() == "v3"


def test_a_runtime_env_change_builds_nothing_and_a_build_time_one_builds(story, cli):
    live = story.releases()[0]["id"]  # v3, GREETING=changed
    cli.ok("app", "env", "demo", "GREETING=runtime change")
    result = story.deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "env changed, same build: new release " in out and f" from {live}, no build" in out
    assert "reflex export" not in out and "✓ build (" not in out
    assert "upload backend" not in out and "upload frontend" not in out
    assert "✓ copy release (" in out and "✓ health gate (" in out
    assert get(f"{story.url}/api/greeting").json()["greeting"] == "runtime change"
    assert story.version() == "v3" and story.page_version() == "v3"
    copied = story.releases()[0]
    assert copied["id"] != live and copied["status"] == "live"
    # its own env snapshot: a rollback brings the old value back, a deploy the new one
    assert story.cli("rollback", "demo").returncode == 0
    assert get(f"{story.url}/api/greeting").json()["greeting"] == "changed"
    result = story.deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"release {copied['id']} already holds this build: no build" in result.stdout
    assert get(f"{story.url}/api/greeting").json()["greeting"] == "runtime change"
    # marked build-time, a change builds (reflex export sees it)
    assert "GREETING (build)" in cli.ok("app", "env", "demo", "GREETING=at build", "--build")
    result = story.deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ build (" in result.stdout and "env changed" not in result.stdout
    assert get(f"{story.url}/api/greeting").json()["greeting"] == "at build"
    assert (
        "GREETING"
        in next(a for a in cli.json("app", "list") if a["name"] == "demo")["build_env_keys"]
    )
    cli.ok("app", "env", "demo", "--mark-runtime", "GREETING")  # as the tests after expect


def test_build_error_keeps_the_old_release(story):
    story.repo.write("sampleapp/sampleapp.py", "this is not python(\n")
    story.repo.commit("broken build")
    result = story.deploy()
    story.assert_failed_and_still_serving(result, "v3", "reflex export (frontend) failed")
    story.repo.git("revert", "--no-edit", "HEAD")


def test_crash_at_start_keeps_the_old_release(story):
    live = story.site_conf()
    story.repo.set_version("v4-crash", CRASH_AT_START)
    result = story.deploy()
    story.assert_failed_and_still_serving(result, "v3", "crashed at start")
    assert "boom at start" in result.stdout  # the app's own log tail explains why
    assert story.site_conf() == live
    assert story.releases()[0]["status"] == "bad"


def test_failing_ping_keeps_the_old_release(story):
    app_py = story.repo.path / "sampleapp" / "sampleapp.py"
    original = app_py.read_text()
    app_py.write_text(
        original.replace(
            'routes=[Route("/api/version", version)',
            'routes=[Route("/ping", lambda r: JSONResponse("down", status_code=500)), '
            'Route("/api/version", version)',
        )
    )
    story.repo.set_version("v4-noping")
    started = time.monotonic()
    result = story.deploy()
    story.assert_failed_and_still_serving(result, "v3", "answered HTTP 500")
    assert time.monotonic() - started >= 20  # it waited the whole health timeout
    app_py.write_text(original)
    story.repo.commit("restore ping")


def test_nginx_test_failure_keeps_the_old_site(story):
    broken = Path(story.sandbox.nginx_conf_dir) / "zz-broken.conf"
    broken.write_text("server { listen 127.0.0.1:1; this_is_not_a_directive; }\n")
    live = story.site_conf()
    try:
        story.repo.set_version("v4-nginx")
        result = story.deploy()
        story.assert_failed_and_still_serving(result, "v3", "nginx")
        assert "previous site config was kept" in result.stderr
        assert story.site_conf() == live
        # nothing is left running on the idle colour
        live_color = story.app()["live_color"]
        idle = "blue" if live_color == "green" else "green"
        assert "RUNNING" not in story.supervisor("status", f"rxpanel-demo-{idle}")
    finally:
        broken.unlink()


def test_ssh_dropped_mid_deploy_keeps_the_old_release(story):
    story.repo.set_version("v5-slow", SLOW_START)
    proc = story.cli.popen("deploy", "demo")
    dep_id = wait_for(lambda: _running_deployment(story), timeout=120, what="a running deployment")
    wait_for(
        lambda: "▶ health gate" in story.cli.ok("logs", str(dep_id)),
        timeout=120,
        what="the health gate",
    )
    killed = _kill_ssh_sessions(story.sandbox)
    assert killed, "no SSH session to cut"
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 1, out + err
    assert "SSH" in err or "connection" in err.lower(), err
    assert story.version() == "v3"
    assert story.lock_free()
    assert "lock released" in out


def test_lock_held_by_someone_else_refuses_clearly(story):
    lock = story.app_dir / ".lock"
    lock.mkdir()
    (lock / "owner").write_text("an operator doing maintenance\n")
    try:
        story.repo.set_version("v5")
        result = story.deploy()
        assert result.returncode == 1
        assert "locked on the server by an operator doing maintenance" in result.stderr
        assert lock.exists()  # someone else's lock is never broken
        assert story.version() == "v3"
    finally:
        (lock / "owner").unlink()
        lock.rmdir()
    assert story.deploy().returncode == 0
    assert story.version() == "v5"


def test_concurrent_requests_run_one_at_a_time_and_coalesce(story):
    # a backend slow to start keeps the first deploy in its health gate while the
    # other two requests arrive (a fast first deploy would leave nothing to coalesce)
    story.repo.set_version("v6", SLOW_START)
    first = story.cli.popen("deploy", "demo")
    wait_for(lambda: _running_deployment(story), timeout=60, what="the first deploy to run")
    second = story.cli.popen("deploy", "demo")
    wait_for(
        lambda: any(d["status"] == "queued" for d in story.deployments()),
        timeout=30,
        what="the second request to queue",
    )
    story.repo.set_version("v7")
    third = story.cli.popen("deploy", "demo")
    outs = [p.communicate(timeout=300) for p in (first, second, third)]
    assert [p.returncode for p in (first, second, third)] == [0, 0, 0], outs
    assert "was replaced by" in outs[1][0]  # the second follows the newer request
    recent = story.deployments()[:3]
    assert [d["status"] for d in recent] == ["success", "superseded", "success"]
    assert "replaced by a newer request" in recent[1]["reason"]
    assert story.version() == "v7"


def test_killed_panel_mid_deploy_is_recovered(story):
    story.repo.set_version("v8-slow", SLOW_START)
    proc = story.cli.popen("deploy", "demo")
    dep_id = wait_for(lambda: _running_deployment(story), timeout=120, what="a running deployment")
    wait_for(
        lambda: "▶ health gate" in story.cli.ok("logs", str(dep_id)),
        timeout=120,
        what="the health gate",
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not story.lock_free()  # the dead process left its lock
    assert story.version() == "v7"
    story.repo.set_version("v8")
    result = story.deploy()
    assert result.returncode == 0, result.stderr
    killed = [d for d in story.deployments() if d["id"] == dep_id][0]
    assert killed["status"] == "interrupted"
    assert "stopped before it finished" in killed["reason"]
    assert story.version() == "v8"
    assert story.lock_free()


def test_hostile_input_is_refused_before_anything_runs(story, cli, sandbox, tmp_path_factory):
    wait_out_standby_stops(tmp_path_factory.getbasetemp())  # other tests' apps, same server
    before = server_snapshot(sandbox)
    apps_before = [a["name"] for a in cli.json("app", "list")]
    hostile = [
        (
            "app",
            "add",
            "x;touch /tmp/pwn",
            "--server",
            "sandbox",
            "--source",
            "/tmp",
            "--url",
            "http://127.0.0.1:1",
        ),
        (
            "app",
            "add",
            "ok",
            "--server",
            "sandbox",
            "--source",
            "/tmp/$(touch /tmp/pwn)",
            "--url",
            "http://127.0.0.1:1",
        ),
        ("app", "add", "ok", "--server", "sandbox", "--source", "/tmp", "--url", "http://a b/"),
        (
            "app",
            "add",
            "ok",
            "--server",
            "sandbox",
            "--source",
            "/tmp",
            "--url",
            "http://127.0.0.1:1/x;id",
        ),
        (
            "app",
            "add",
            "ok",
            "--server",
            "sandbox",
            "--source",
            "--upload-pack=touch /tmp/pwn",
            "--url",
            "http://127.0.0.1:1",
        ),
        (
            "app",
            "add",
            "ok",
            "--server",
            "sandbox",
            "--source",
            "/tmp",
            "--url",
            "http://127.0.0.1:1",
            "--branch",
            "main;id",
        ),
        (
            "app",
            "add",
            "ok",
            "--server",
            "sandbox",
            "--source",
            "/tmp",
            "--url",
            "http://127.0.0.1:1",
            "--env",
            "A\nB=1",
        ),
        (
            "app",
            "add",
            "ok",
            "--server",
            "sandbox",
            "--source",
            "/tmp",
            "--url",
            "http://127.0.0.1:70000",
        ),
        ("deploy", "demo", "--ref", "--upload-pack=touch /tmp/pwn"),
        ("deploy", "demo", "--ref", "main;touch /tmp/pwn"),
        ("deploy", "demo", "--ref", "../../etc/passwd"),
        ("rollback", "demo", "--to", "../../../etc"),
        ("rollback", "demo", "--to", "x$(id)"),
        ("app", "env", "demo", "BAD KEY=1"),
        ("app", "env", "demo", "K=line1\nline2"),
        (
            "server",
            "add",
            "evil",
            "--host",
            "-oProxyCommand=touch /tmp/pwn",
            "--key",
            str(sandbox.key_path),
        ),
        (
            "server",
            "add",
            "evil",
            "--host",
            "127.0.0.1",
            "--deploy-root",
            "/srv/$(id)",
            "--key",
            str(sandbox.key_path),
        ),
        (
            "server",
            "add",
            "evil",
            "--host",
            "127.0.0.1",
            "--nginx-cmd",
            "nginx;id",
            "--key",
            str(sandbox.key_path),
        ),
        (
            "server",
            "add",
            "evil",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--key",
            str(sandbox.key_path),
        ),
    ]
    for args in hostile:
        result = cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rxpanel: "), (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert not Path("/tmp/pwn").exists()
    assert server_snapshot(sandbox) == before
    assert [a["name"] for a in cli.json("app", "list")] == apps_before


def test_shell_metacharacters_in_env_values_arrive_literally(story, cli):
    value = 'it\'s $(touch /tmp/pwn) `id` ; "quoted" $HOME'
    cli.ok("app", "env", "demo", f"GREETING={value}")
    assert story.deploy().returncode == 0
    assert get(f"{story.url}/api/greeting").json()["greeting"] == value
    assert not Path("/tmp/pwn").exists()


def test_a_python_only_change_reuses_the_frontend_bundle(story):
    app_py = story.repo.path / "sampleapp" / "sampleapp.py"
    app_py.write_text(
        app_py.read_text().replace(
            'os.environ.get("GREETING", "")', 'os.environ.get("GREETING", "") + " (python only)"'
        )
    )
    story.repo.commit("a Python-only change: the compiled frontend is the same")
    result = story.deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "frontend unchanged: reused the bundle of build" in result.stdout
    assert "the bundler did not run" in result.stdout
    assert get(f"{story.url}/api/greeting").json()["greeting"].endswith(" (python only)")
    assert story.page_version() == story.version()  # the reused frontend is served


def test_retention_keeps_n_good_releases(story, cli):
    cli.ok("app", "update", "demo", "--keep-releases", "2")
    story.repo.set_version("v9")
    assert story.deploy().returncode == 0
    kept = {
        r["id"]
        for r in story.releases()
        if r["status"] in ("live", "good", "ready") and r["on_server"]
    }
    on_disk = {p.name for p in (story.app_dir / "releases").iterdir()}
    assert on_disk == kept
    assert len(kept) == 2
    venvs = [p for p in (story.app_dir / "venvs").iterdir() if p.is_dir()]
    assert len(venvs) == 1


def test_standby_stops_after_its_period(story, cli):
    cli.ok("app", "update", "demo", "--standby-minutes", "0.05")
    story.repo.set_version("v10")
    assert story.deploy().returncode == 0
    live = story.app()["live_color"]
    idle = "blue" if live == "green" else "green"
    assert "RUNNING" in story.supervisor("status", f"rxpanel-demo-{idle}")
    # the stop is a job of the panel's scheduler (no timer is left on the server):
    # the worker the panel runs, here on its own as `rxpanel worker`
    worker = subprocess.Popen(
        [*cli.base, "worker"],
        env=cli.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: "STOPPED" in story.supervisor("status", f"rxpanel-demo-{idle}"),
            timeout=30,
            what="the standby to stop",
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert story.version() == "v10"
    assert story.lock_free()


def test_changed_host_key_refuses_to_connect(story, cli, sandbox_server):
    db = sqlite3.connect(cli.home / "rxpanel.db")
    (recorded,) = db.execute(
        "select host_key from server where name=?", (sandbox_server,)
    ).fetchone()
    other = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(story.sandbox.key_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with db:
        db.execute("update server set host_key=? where name=?", (other, sandbox_server))
    try:
        result = cli("server", "check", sandbox_server)
        assert result.returncode == 1
        assert "host key" in result.stdout and "changed" in result.stdout
        assert story.deploy().returncode == 1
        assert story.version() == "v10"
    finally:
        with db:
            db.execute("update server set host_key=? where name=?", (recorded, sandbox_server))
    assert story.lock_free()


# -- helpers ----------------------------------------------------------------


def _running_deployment(story: Story) -> int | None:
    for d in story.deployments():
        if d["status"] == "running":
            return d["id"]
    return None


def _kill_ssh_sessions(sandbox) -> list[int]:
    """Cut every SSH connection to the sandbox (the listener stays up)."""
    listener = int((Path(sandbox.dir) / "ssh" / "sshd.pid").read_text())
    children = subprocess.run(["pgrep", "-P", str(listener)], capture_output=True, text=True)
    pids = [int(p) for p in children.stdout.split()]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids
