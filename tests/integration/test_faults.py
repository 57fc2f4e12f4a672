"""Faults in the middle of a deploy: the SSH connection cut during the upload, the
disk full on the server, the panel killed and restarted. Each ends with the
previous release serving, every lock free, and the deployment's record telling
what happened. (Build errors, crashes at start, a failing /ping and a failing
`nginx -t` are in test_deploy.py.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, AppRepo, free_port, get, wait_for

pytestmark = pytest.mark.integration


class Throttle:
    """A TCP proxy in front of the sandbox's sshd that can slow traffic down and
    cut every connection at once, like a network that fails mid-transfer."""

    def __init__(self, target_port: int):
        self.target, self.rate, self.conns = target_port, 0, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while data := src.recv(4096):
                if self.rate:
                    time.sleep(len(data) / self.rate)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns = []

    def close(self):
        self.listener.close()
        self.cut()


def server_add(cli, sandbox, name: str, **overrides) -> None:
    args = sandbox.server_add_args(name)
    for flag, value in overrides.items():
        i = args.index(f"--{flag.replace('_', '-')}")
        args[i + 1] = str(value)
    cli.ok(*args)


def add_app(cli, server: str, repo: AppRepo, name: str) -> str:
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app",
        "add",
        name,
        "--server",
        server,
        "--source",
        str(repo.path),
        "--url",
        url,
        "--health-timeout",
        "30",
    )
    return url


def version(url: str) -> str:
    return get(f"{url}/api/version").json()["version"]


def last_deployment(cli, app: str) -> dict:
    return cli.json("deployments", app)[0]


def no_lock(sandbox_root: str, app: str) -> bool:
    return not (Path(sandbox_root) / app / ".lock").exists()


def test_ssh_cut_in_the_middle_of_an_upload(cli, sandbox, tmp_path_factory):
    proxy = Throttle(sandbox.ssh_port)
    try:
        server_add(cli, sandbox, "via-proxy", port=proxy.port)
        repo = AppRepo(tmp_path_factory.mktemp("cut") / "app")
        url = add_app(cli, "via-proxy", repo, "cutapp")
        assert cli("deploy", "cutapp").returncode == 0
        assert version(url) == "v1"

        repo.set_version("v2")
        proxy.rate = 60_000  # bytes/s: the 0.7 MB upload takes about 12 s
        deploy = cli.popen("deploy", "cutapp")
        dep_id = wait_for(lambda: _running(cli, "cutapp"), timeout=120, what="the deploy")
        wait_for(
            lambda: "▶ upload frontend" in cli.ok("logs", str(dep_id)),
            timeout=180,
            what="the upload of the frontend to start",
        )
        time.sleep(1)
        proxy.cut()  # mid-upload
        proxy.rate = 0
        out, err = deploy.communicate(timeout=300)
        assert deploy.returncode == 1, out + err
        dep = last_deployment(cli, "cutapp")
        assert dep["status"] == "failed"
        assert "upload" in dep["reason"] and ("lost" in dep["reason"] or "failed" in dep["reason"])
        assert version(url) == "v1"
        assert no_lock(sandbox.deploy_root, "cutapp")
        # the half-uploaded release was removed, only the good one stays
        releases = [p.name for p in (Path(sandbox.deploy_root) / "cutapp" / "releases").iterdir()]
        assert releases == [
            r["id"] for r in cli.json("releases", "cutapp") if r["status"] == "live"
        ]
        # and the next deploy goes through
        assert cli("deploy", "cutapp").returncode == 0
        assert version(url) == "v2"
    finally:
        proxy.close()


def test_disk_full_on_the_server(cli, sandbox, tmp_path_factory):
    small = tmp_path_factory.mktemp("small-disk")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", str(small)], check=True)
    try:
        server_add(cli, sandbox, "small-disk", deploy_root=small)
        repo = AppRepo(tmp_path_factory.mktemp("full") / "app")
        url = add_app(cli, "small-disk", repo, "fullapp")
        assert cli("deploy", "fullapp").returncode == 0
        assert version(url) == "v1"

        stat = os.statvfs(small)
        ballast = small / "ballast"
        keep = 400 * 1024  # leave 400 KB: less than the upload needs
        ballast.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - keep))
        repo.set_version("v2")
        result = cli("deploy", "fullapp")
        assert result.returncode == 1
        dep = last_deployment(cli, "fullapp")
        assert dep["status"] == "failed" and "not enough disk space" in dep["reason"], dep
        assert version(url) == "v1"
        assert no_lock(str(small), "fullapp")

        ballast.unlink()
        assert cli("deploy", "fullapp").returncode == 0
        assert version(url) == "v2"
    finally:
        cli("app", "remove", "fullapp")
        subprocess.run(["umount", "-l", str(small)], check=False)


def test_the_panel_killed_mid_deploy_and_restarted(cli, sandbox, sandbox_server, tmp_path_factory):
    repo = AppRepo(tmp_path_factory.mktemp("killed") / "app")
    url = add_app(cli, sandbox_server, repo, "killapp")
    assert cli("deploy", "killapp").returncode == 0
    assert version(url) == "v1"
    hook = cli.json("app", "webhook", "killapp")

    port = free_port()
    panel = start_backend(cli, port)
    try:
        slow = 'import os, time\nif "/releases/" in os.getcwd():\n    time.sleep(10)\n'
        commit = repo.set_version("v2-slow", slow)
        queued = push(port, hook, commit, "kill-1")
        dep_id = queued["deployment"]
        wait_for(
            lambda: "▶ health gate" in cli.ok("logs", str(dep_id)),
            timeout=240,
            what="the health gate",
        )
        os.killpg(panel.pid, signal.SIGKILL)  # the whole panel, mid-deploy
        panel.wait(timeout=30)
        assert not no_lock(sandbox.deploy_root, "killapp")
        assert version(url) == "v1"

        panel = start_backend(cli, port)  # the restart recovers
        dep = wait_for(
            lambda: next(
                (
                    d
                    for d in cli.json("deployments", "killapp")
                    if d["id"] == dep_id and d["status"] != "running"
                ),
                None,
            ),
            timeout=60,
            what="the recovery",
        )
        assert dep["status"] == "interrupted" and "stopped before it finished" in dep["reason"]
        wait_for(lambda: no_lock(sandbox.deploy_root, "killapp"), timeout=30, what="the lock")
        assert version(url) == "v1"
        logs = cli.ok("logs", str(dep_id))
        assert "recovery" in logs and "lock was released" in logs

        repo.set_version("v3")
        again = push(port, hook, repo.head(), "kill-2")
        wait_for(
            lambda: next(
                (
                    d
                    for d in cli.json("deployments", "killapp")
                    if d["id"] == again["deployment"] and d["status"] == "success"
                ),
                None,
            ),
            timeout=240,
            what="the next deploy",
        )
        assert version(url) == "v3"
    finally:
        _stop(panel)


# -- helpers ------------------------------------------------------------------


def _running(cli, app: str) -> int | None:
    return next((d["id"] for d in cli.json("deployments", app) if d["status"] == "running"), None)


def start_backend(cli, port: int) -> subprocess.Popen:
    """The panel's backend (its runner and webhook API) as it runs in production."""
    env = {
        **cli.env,
        "REFLEX_USE_NPM": "1",
        "PATH": f"{ROOT / '.venv/bin'}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/reflex"),
            "run",
            "--env",
            "prod",
            "--backend-only",
            "--backend-port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: _pong(port), timeout=180, what="the panel backend")
    return proc


def _pong(port: int) -> bool:
    try:
        return get(f"http://127.0.0.1:{port}/ping").status_code == 200
    except Exception:  # noqa: BLE001
        return False


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def push(port: int, hook: dict, commit: str, delivery: str) -> dict:
    import hashlib
    import hmac

    import httpx

    body = json.dumps({"ref": "refs/heads/main", "after": commit}).encode()
    sent = str(int(time.time()))  # generic deliveries sign "<timestamp>.<body>"
    sig = hmac.new(hook["secret"].encode(), f"{sent}.".encode() + body, hashlib.sha256)
    answer = httpx.post(
        f"http://127.0.0.1:{port}{hook['url']}",
        content=body,
        timeout=30,
        headers={
            "X-Rxpanel-Signature": f"sha256={sig.hexdigest()}",
            "X-Rxpanel-Timestamp": sent,
            "X-Rxpanel-Delivery": delivery,
        },
    )
    assert answer.status_code == 202, answer.text
    return answer.json()
