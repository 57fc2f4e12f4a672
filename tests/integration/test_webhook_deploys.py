"""Webhook deploys with real HTTP calls against the running panel: each
provider with good, bad, replayed and other-branch deliveries, and a burst of
20 concurrent pushes. The panel's own runner deploys to the sandbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import AppRepo, free_port, get, wait_for

pytestmark = pytest.mark.integration


class Hooked:
    def __init__(self, panel, repo: AppRepo, url: str, hook_url: str, secret: str):
        self.panel, self.cli, self.repo, self.url = panel, panel.cli, repo, url
        self.hook_url, self.secret = hook_url, secret

    def post(
        self,
        provider: str,
        commit: str,
        *,
        branch: str = "main",
        delivery: str,
        secret: str | None = None,
        at: int | None = None,
        app: str = "hooked",
    ) -> httpx.Response:
        body = json.dumps({"ref": f"refs/heads/{branch}", "after": commit}).encode()
        key = (secret or self.secret).encode()
        sig = hmac.new(key, body, hashlib.sha256).hexdigest()
        sent = str(int(time.time()) if at is None else at)  # generic: "<timestamp>.<body>"
        generic = hmac.new(key, f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            **{
                "github": {
                    "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": f"sha256={sig}",
                },
                "gitlab": {
                    "X-Gitlab-Event": "Push Hook",
                    "X-Gitlab-Event-UUID": delivery,
                    "X-Gitlab-Token": (secret or self.secret),
                },
                "gitea": {
                    "X-Gitea-Event": "push",
                    "X-Gitea-Delivery": delivery,
                    "X-Gitea-Signature": sig,
                },
                "generic": {
                    "X-Rxpanel-Delivery": delivery,
                    "X-Rxpanel-Timestamp": sent,
                    "X-Rxpanel-Signature": f"sha256={generic}",
                },
            }[provider],
        }
        url = self.hook_url.replace("/hooked", f"/{app}")
        return httpx.post(url, content=body, headers=headers, timeout=30)

    def deployments(self) -> list[dict]:
        return self.cli.json("deployments", "hooked")

    def version(self) -> str:
        return get(f"{self.url}/api/version").json()["version"]


@pytest.fixture(scope="module")
def hooked(panel, sandbox, tmp_path_factory) -> Hooked:
    cli = panel.cli
    # one server record per machine: a second record of the same sandbox would hand
    # out the same backend ports twice
    same = [
        s
        for s in cli.json("server", "list")
        if (s["host"], s["port"]) == ("127.0.0.1", sandbox.ssh_port)
    ]
    server = same[0]["name"] if same else "hooks-sandbox"
    if not same:
        cli.ok(*sandbox.server_add_args(server))
    repo = AppRepo(tmp_path_factory.mktemp("hooked") / "app")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app",
        "add",
        "hooked",
        "--server",
        server,
        "--source",
        str(repo.path),
        "--url",
        url,
        "--health-timeout",
        "30",
    )
    info = cli.json("app", "webhook", "hooked")
    assert info["url"] == "/api/hooks/hooked" and len(info["secret"]) >= 32
    return Hooked(panel, repo, url, panel.url + info["url"], info["secret"])


def finished(h: Hooked, dep_id: int, timeout: float = 240) -> dict:
    return wait_for(
        lambda: next(
            (
                d
                for d in h.deployments()
                if d["id"] == dep_id and d["status"] in ("success", "failed")
            ),
            None,
        ),
        timeout=timeout,
        what=f"deployment #{dep_id}",
    )


@pytest.mark.parametrize("provider", ["github", "gitlab", "gitea", "generic"])
def test_each_provider(hooked, provider):
    h = hooked
    commit = h.repo.set_version(f"via-{provider}")
    before = len(h.deployments())

    bad = h.post(provider, commit, delivery=f"{provider}-bad", secret="not-the-secret-at-all")
    assert bad.status_code == 401 and len(h.deployments()) == before

    other = h.post(provider, commit, branch="feature", delivery=f"{provider}-other")
    assert other.status_code == 202 and other.json()["status"] == "ignored"
    assert len(h.deployments()) == before

    good = h.post(provider, commit, delivery=f"{provider}-1")
    assert good.status_code == 202, good.text
    assert good.json()["status"] == "queued"
    dep_id = good.json()["deployment"]
    replay = h.post(provider, commit, delivery=f"{provider}-1")
    assert replay.status_code == 200 and replay.json() == {
        "status": "duplicate",
        "deployment": dep_id,
    }

    dep = finished(h, dep_id)
    assert dep["status"] == "success", dep["reason"]
    assert (dep["trigger"], dep["commit"]) == ("webhook", commit)
    assert len(h.deployments()) == before + 1
    assert h.version() == f"via-{provider}"

    outcomes = [d["outcome"] for d in h.cli.json("deliveries", "hooked")[:4]]
    assert outcomes == ["duplicate", "queued", "ignored", "rejected"]


def test_an_old_push_replayed_with_a_fresh_id_is_recorded_and_not_deployed(hooked):
    """The push that deployed via-github, captured and sent again with a new
    delivery id (GitHub signs no id and no time): its commit is older than the live one."""
    h = hooked
    old = next(d for d in h.deployments() if d["by"] == "github push " + d["commit"][:12])
    before, version = len(h.deployments()), h.version()
    replay = h.post("github", old["commit"], delivery="captured-and-replayed")
    assert replay.status_code == 202 and replay.json()["status"] == "ignored", replay.text
    assert replay.json()["detail"].startswith(f"not deployed: {old['commit'][:12]} is older")
    assert len(h.deployments()) == before and h.version() == version
    row = h.cli.json("deliveries", "hooked")[0]
    assert (row["outcome"], row["commit"]) == ("ignored", old["commit"])


def test_a_stale_generic_delivery_is_refused(hooked):
    h = hooked
    before = len(h.deployments())
    commit = h.repo.set_version("stale")
    stale = h.post("generic", commit, delivery="stale-1", at=int(time.time()) - 600)
    assert stale.status_code == 401
    assert stale.json()["error"].startswith("stale delivery: its X-Rxpanel-Timestamp is 6"), (
        stale.text
    )
    assert len(h.deployments()) == before


def test_an_unknown_app_looks_like_a_bad_signature_and_writes_nothing(hooked):
    h = hooked
    rows = len(h.cli.json("deliveries", "hooked"))
    audit = len(h.cli.json("audit", "--limit", "1000"))
    for provider in ("github", "gitlab", "gitea", "generic"):
        commit = "a" * 40
        unknown = h.post(provider, commit, delivery="probe", secret="a-guess", app="no-such-app")
        bad = h.post(provider, commit, delivery="probe", secret="a-guess")
        assert (unknown.status_code, unknown.json()) == (bad.status_code, bad.json()), provider
        assert unknown.status_code == 401
    # the four bad signatures to the real app are its operator's to read; nothing else
    assert len(h.cli.json("deliveries", "hooked")) == rows + 4
    assert len(h.cli.json("audit", "--limit", "1000")) == audit + 4


def test_a_burst_of_20_pushes_leaves_one_running_and_one_queued_at_the_newest(hooked):
    h = hooked
    commits = [h.repo.set_version(f"burst-{i}") for i in range(20)]
    before = {d["id"] for d in h.deployments()}
    with ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(lambda i: h.post("github", commits[i], delivery=f"burst-{i}"), range(20))
        )
    assert [a.status_code for a in answers] == [202] * 20
    by_deployment = {a.json()["deployment"]: a.json()["commit"] for a in answers}
    newest = max(by_deployment)

    seen_active = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        burst = [d for d in h.deployments() if d["id"] not in before]
        running = sum(d["status"] == "running" for d in burst)
        queued = sum(d["status"] == "queued" for d in burst)
        seen_active.append((running, queued))
        if running == queued == 0:
            break
        time.sleep(0.3)
    assert all(r <= 1 and q <= 1 for r, q in seen_active), seen_active
    burst = {d["id"]: d for d in h.deployments() if d["id"] not in before}
    assert len(burst) == 20
    ran = [d for d in burst.values() if d["status"] != "superseded"]
    assert 1 <= len(ran) <= 2  # one that was already running, and the newest
    assert burst[newest]["status"] == "success", burst[newest]["reason"]
    assert burst[newest]["commit"] == by_deployment[newest]
    superseded = [d for d in burst.values() if d["status"] == "superseded"]
    assert all("replaced by a newer request" in d["reason"] for d in superseded)
    index = commits.index(by_deployment[newest])
    assert h.version() == f"burst-{index}"
