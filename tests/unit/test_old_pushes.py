"""A push of the live commit or an older one (a captured push replayed with a fresh
delivery id) is recorded and not deployed, unless the app allows old pushes. The
answer comes from the app's build workspace, a real git clone here."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rxpanel import actions
from rxpanel.deploy import ancestry
from rxpanel.deploy.build import workspace
from rxpanel.services import apps, deployments, hooks, releases, servers
from tests.unit.test_webhooks import headers_for, push_body

RID = "20260101T000000-aaaaaa"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit(repo: Path, text: str) -> str:
    (repo / "version.txt").write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", text)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def world(home, tmp_path):
    """`demo` from a git repo c1 <- c2 <- c3, live at c2; its workspace cloned at c2."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    c1, c2 = commit(repo, "1"), commit(repo, "2")
    src = workspace("demo") / "src"
    src.parent.mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--no-checkout", str(repo), str(src))
    c3 = commit(repo, "3")  # pushed after the last build: not in the workspace
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    app = apps.add(apps.AppInput(name="demo", server="s1", source=str(repo), url="http://a.x"))
    releases.create(id=RID, app_id=app.id, commit=c2, build_key="k", req_hash="h", env_enc="x")
    apps.set_live(app.id, RID, "blue")
    return app, repo, (c1, c2, c3)


def push(sha: str, delivery: str):
    body = push_body(after=sha)
    h = headers_for("github", body, delivery=delivery, secret=hooks.secret("demo"))
    return actions.receive_push("demo", h, body, "127.0.0.1")


def test_compare_in_the_workspace(world):
    app, repo, (c1, c2, c3) = world
    older = ancestry.compare("demo", str(repo), c1, c2)
    assert older == ancestry.Verdict(
        True, f"{c1[:12]} is older than the live release's commit {c2[:12]}"
    )
    assert ancestry.compare("demo", str(repo), c2, c2).older is True
    assert ancestry.compare("demo", str(repo), c3, c2).older is False  # unknown to it: newer
    plain = repo.parent / "plain"
    plain.mkdir()
    assert ancestry.compare("demo", str(plain), c1, c2).older is False  # no history to ask
    refused = ancestry.compare("demo", "/a/dir", c1, c2)  # outside the allowed roots
    assert refused.older is None and "is outside the directories" in refused.detail


def test_an_old_push_replayed_with_a_fresh_id_is_recorded_and_not_deployed(world):
    app, _, (c1, c2, c3) = world
    answer = push(c1, "replayed-with-a-fresh-id")
    assert answer.status == 202 and answer.body["status"] == "ignored"
    assert answer.body["detail"].startswith(
        f"not deployed: {c1[:12]} is older than the live release's commit {c2[:12]} "
        "(a replayed or out-of-order push must not roll demo back); deploy it with "
        f"`rxpanel deploy demo --ref {c1}`, or allow old pushes with "
        "`rxpanel app update demo --allow-old-pushes`"
    )
    assert deployments.for_app(app.id) == []
    row = hooks.recent("demo")[0]
    assert (row.outcome, row.status_code, row.commit) == ("ignored", 202, c1)
    assert row.detail == answer.body["detail"]
    # the live commit itself is not deployed again either
    same = push(c2, "another-id")
    assert (
        same.body["status"] == "ignored"
        and "is the live release's commit already" in (same.body["detail"])
    )
    # a newer commit deploys
    newer = push(c3, "new")
    assert newer.body["status"] == "queued"
    assert deployments.get(newer.body["deployment"]).ref == c3


def test_an_app_may_allow_old_pushes(world):
    app, repo, (c1, _, _) = world
    apps.update(
        "demo",
        apps.AppInput(
            name="demo", server="s1", source=str(repo), url="http://a.x", allow_old_pushes="yes"
        ),
    )
    assert apps.get("demo").allow_old_pushes is True
    assert push(c1, "allowed").body["status"] == "queued"
    # a form without the setting keeps it
    apps.update("demo", apps.AppInput(name="demo", server="s1", source=str(repo), url="http://a.x"))
    assert apps.get("demo").allow_old_pushes is True


def test_a_workspace_without_the_live_commit_fetches_first(world, tmp_path):
    app, repo, (c1, c2, _) = world
    src = workspace("demo") / "src"
    shutil.rmtree(src)
    git(tmp_path, "clone", "-q", "--no-checkout", str(repo), str(src))
    git(src, "update-ref", "-d", "refs/remotes/origin/main")
    git(src, "reset", "-q", "--soft", c1)  # no ref reaches c2 now
    git(src, "reflog", "expire", "--expire=now", "--all")
    git(src, "gc", "-q", "--prune=now")
    assert subprocess.run(["git", "cat-file", "-e", c2], cwd=src).returncode != 0
    assert push(c1, "after-a-wipe").body["status"] == "ignored"
    assert git(src, "cat-file", "-t", c2) == "commit"


def test_without_a_workspace_an_old_push_cannot_be_told_and_is_not_deployed(world):
    app, _, (c1, _, _) = world
    shutil.rmtree(workspace("demo"))
    answer = push(c1, "no-workspace")
    assert answer.body["status"] == "ignored"
    assert answer.body["detail"].startswith(
        f"not deployed: could not tell whether {c1[:12]} is older than the live release "
        "(the app's build workspace has no git checkout)"
    )
    assert deployments.for_app(app.id) == []
