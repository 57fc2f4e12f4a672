"""Webhook providers (pure) and the delivery service on a temporary database."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import threading
import time

import pytest

from rxpanel import actions
from rxpanel.services import apps, deployments, hooks, servers
from rxpanel.webhooks.providers import Rejected, identify, parse, verify

SECRET = "the-webhook-secret"
SHA1, SHA2 = "a" * 40, "b" * 40


def push_body(ref="refs/heads/main", after=SHA1) -> bytes:
    return json.dumps({"ref": ref, "after": after, "commits": []}).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(
    provider: str,
    body: bytes,
    delivery: str = "d-1",
    event: str = "push",
    secret: str = SECRET,
    at: int | None = None,
) -> dict[str, str]:
    if provider == "github":
        return {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": "sha256=" + sign(body, secret),
        }
    if provider == "gitlab":
        return {
            "X-Gitlab-Event": "Push Hook" if event == "push" else event,
            "X-Gitlab-Token": secret,
            "X-Gitlab-Event-UUID": delivery,
        }
    if provider == "gitea":
        return {
            "X-Gitea-Event": event,
            "X-Gitea-Delivery": delivery,
            "X-Gitea-Signature": sign(body, secret),
        }
    sent = str(int(time.time()) if at is None else at)
    return {
        "X-Rxpanel-Event": event,
        "X-Rxpanel-Delivery": delivery,
        "X-Rxpanel-Timestamp": sent,
        "X-Rxpanel-Signature": "sha256=" + sign(sent.encode() + b"." + body, secret),
    }


PROVIDERS = ["github", "gitlab", "gitea", "generic"]


def lower(h: dict) -> dict:
    return {k.lower(): v for k, v in h.items()}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signed_push_is_identified_verified_and_parsed(provider):
    body = push_body()
    h = lower(headers_for(provider, body))
    assert identify(h) == provider
    verify(provider, h, body, SECRET)
    push = parse(provider, h, body)
    assert (push.event, push.branch, push.commit, push.delivery_id) == ("push", "main", SHA1, "d-1")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_secret_or_a_changed_body_is_refused(provider):
    body = push_body()
    h = lower(headers_for(provider, body, secret="not-the-secret"))
    with pytest.raises(Rejected) as bad:
        verify(provider, h, body, SECRET)
    assert bad.value.status == 401
    if provider != "gitlab":  # GitLab's token does not cover the body
        h = lower(headers_for(provider, body))
        with pytest.raises(Rejected):
            verify(provider, h, push_body(after=SHA2), SECRET)


def test_forgejo_headers_are_gitea():
    body = push_body()
    h = lower({"X-Forgejo-Event": "push", "X-Forgejo-Signature": sign(body)})
    assert identify(h) == "gitea"
    verify("gitea", h, body, SECRET)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1,2]",
        b'{"ref": 5, "after": "x"}',
        b'{"ref": "refs/heads/main", "after": "$(id)"}',
    ],
)
def test_malformed_bodies_are_refused_after_the_signature(body):
    with pytest.raises(Rejected) as bad:
        parse("github", lower(headers_for("github", body)), body)
    assert bad.value.status == 400


def test_no_known_header_is_no_provider():
    assert identify({"content-type": "application/json"}) is None


# -- the service ---------------------------------------------------------------


@pytest.fixture
def app(home, tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
    app = apps.add(
        apps.AppInput(
            name="demo", server="s1", source="https://git.example/src.git", url="http://a.example"
        )
    )
    return app


def deliver(provider="github", body=None, delivery="d-1", secret=None, **kw):
    body = push_body() if body is None else body
    h = headers_for(provider, body, delivery=delivery, secret=secret or hooks.secret("demo"), **kw)
    return actions.receive_push("demo", h, body, "127.0.0.1")


def queued(app_id: int) -> list:
    return [d for d in deployments.for_app(app_id) if d.status in ("queued", "running")]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_push_to_the_branch_queues_one_deploy_at_the_pushed_commit(app, provider):
    answer = deliver(provider)
    assert answer.status == 202 and answer.body["status"] == "queued"
    dep = deployments.get(answer.body["deployment"])
    assert (dep.trigger, dep.ref, dep.status) == ("webhook", SHA1, "queued")
    assert hooks.recent("demo")[0].outcome == "queued"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_bad_signature_is_401_and_queues_nothing(app, provider):
    answer = deliver(provider, secret="wrong-secret-value")
    assert answer.status == 401
    assert queued(app.id) == []
    record = hooks.recent("demo")[0]
    assert (record.outcome, record.status_code, record.delivery_id) == ("rejected", 401, None)


def test_missing_signature_is_401(app):
    answer = actions.receive_push("demo", {"Content-Type": "application/json"}, push_body())
    assert answer.status == 401 and queued(app.id) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_repeated_delivery_is_answered_without_queuing_again(app, provider):
    first = deliver(provider)
    again = deliver(provider)
    assert again.status == 200 and again.body["status"] == "duplicate"
    assert again.body["deployment"] == first.body["deployment"]
    assert len(deployments.for_app(app.id)) == 1


def test_a_forged_delivery_id_does_not_block_the_real_one(app):
    assert deliver(secret="wrong-secret-value", delivery="d-9").status == 401
    assert deliver(delivery="d-9").status == 202


@pytest.mark.parametrize("provider", PROVIDERS)
def test_another_branch_is_ignored(app, provider):
    answer = deliver(provider, body=push_body(ref="refs/heads/feature"))
    assert answer.status == 202 and answer.body["status"] == "ignored"
    assert queued(app.id) == []
    # and a redelivery of it is still just ignored
    assert deliver(provider, body=push_body(ref="refs/heads/feature")).status == 202


def test_tags_deletions_and_other_events_are_ignored(app):
    assert deliver(body=push_body(ref="refs/tags/v1")).body["status"] == "ignored"
    assert deliver(body=push_body(after="0" * 40), delivery="d-2").body["status"] == "ignored"
    assert deliver(event="issues", delivery="d-3").body["status"] == "ignored"
    assert deliver(event="ping", delivery="d-4").body["status"] == "pong"
    assert queued(app.id) == []


def test_oversized_and_malformed_bodies(app):
    big = b"{" + b" " * (hooks.MAX_BODY + 1) + b"}"
    assert deliver(body=big).status == 413
    assert deliver(body=b"{nope", delivery="d-5").status == 400
    assert queued(app.id) == []


def rows() -> tuple[int, int]:
    from sqlmodel import func, select

    from rxpanel import db
    from rxpanel.models import AuditEvent, WebhookDelivery

    with db.session() as s:
        return tuple(
            s.exec(select(func.count()).select_from(m)).one() for m in (WebhookDelivery, AuditEvent)
        )


@pytest.mark.parametrize("provider", [*PROVIDERS, "none"])
def test_an_unknown_app_is_answered_as_a_bad_signature_and_writes_nothing(app, provider):
    body = push_body()
    h = {} if provider == "none" else headers_for(provider, body, secret="a-guess")
    before = rows()
    unknown = actions.receive_push("nope", h, body, "127.0.0.1")
    assert rows() == before  # no delivery, no audit event
    known = actions.receive_push("demo", h, body, "127.0.0.1")
    assert (unknown.status, unknown.body) == (known.status, known.body)
    assert unknown.status == 401 and unknown.body["status"] == "rejected"
    assert rows()[0] == before[0] + 1  # the app's own delivery is recorded for its operator


def test_an_unknown_app_answers_a_stale_or_unsigned_generic_delivery_the_same_way(app):
    body = push_body()
    for h in (
        {"X-Rxpanel-Signature": "sha256=" + sign(body)},  # no timestamp
        headers_for("generic", body, secret="a-guess", at=int(time.time()) - 3600),
    ):
        unknown, known = (actions.receive_push(n, h, body) for n in ("nope", "demo"))
        assert (unknown.status, unknown.body) == (known.status, known.body)
    assert actions.receive_push("nope", {}, b"{" + b" " * hooks.MAX_BODY + b"}").status == 413


def test_a_generic_delivery_signs_its_timestamp():
    body, now = push_body(), 1_800_000_000
    h = lower(headers_for("generic", body, at=now))
    verify("generic", h, body, SECRET, now=now + 300)  # at the edge of the window
    for late in (now + 301, now - 301):
        with pytest.raises(Rejected, match=r"stale delivery: its X-Rxpanel-Timestamp is 301 s"):
            verify("generic", h, body, SECRET, now=late)
    moved = {**h, "x-rxpanel-timestamp": str(now + 100)}  # a replay with a fresh timestamp
    with pytest.raises(Rejected, match="bad signature"):
        verify("generic", moved, body, SECRET, now=now + 100)
    body_only = {**h, "x-rxpanel-signature": "sha256=" + sign(body)}  # the old scheme
    with pytest.raises(Rejected, match="bad signature"):
        verify("generic", body_only, body, SECRET, now=now)
    bare = {k: v for k, v in h.items() if k != "x-rxpanel-timestamp"}
    with pytest.raises(
        Rejected, match=r"missing X-Rxpanel-Timestamp: .* signs `<timestamp>.<body>`"
    ):
        verify("generic", bare, body, SECRET, now=now)
    with pytest.raises(Rejected, match="whole seconds"):
        verify("generic", {**h, "x-rxpanel-timestamp": "soon"}, body, SECRET, now=now)


def test_a_stale_generic_delivery_is_refused_and_queues_nothing(app):
    body = push_body()
    h = headers_for("generic", body, secret=hooks.secret("demo"), at=int(time.time()) - 600)
    answer = actions.receive_push("demo", h, body)
    assert answer.status == 401 and answer.body["error"].startswith("stale delivery")
    assert queued(app.id) == []


def test_a_generic_delivery_without_an_id_is_deduplicated_by_its_signature(app):
    body = push_body()
    h = headers_for("generic", body, secret=hooks.secret("demo"))
    del h["X-Rxpanel-Delivery"]
    first = actions.receive_push("demo", h, body)
    again = actions.receive_push("demo", h, body)
    assert first.body["status"] == "queued"
    assert again.body == {"status": "duplicate", "deployment": first.body["deployment"]}


def test_a_burst_leaves_one_queued_at_the_newest_commit(app):
    commits = [f"{i:040x}" for i in range(1, 21)]
    answers = []

    def send(i):
        answers.append(deliver(body=push_body(after=commits[i]), delivery=f"burst-{i}"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a.status == 202 for a in answers)
    deps = deployments.for_app(app.id)
    assert len(deps) == 20
    live = [d for d in deps if d.status == "queued"]
    assert len(live) == 1
    assert live[0].id == max(d.id for d in deps)  # the newest request carries the day
    assert sum(d.status == "superseded" for d in deps) == 19


def test_rotating_the_secret(app):
    old = hooks.secret("demo")
    new = hooks.secret("demo", rotate=True)
    assert old != new and hooks.secret("demo") == new
    assert deliver(secret=old).status == 401


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/main;id",
        "refs/heads/a\x1b[2J",
        "refs/heads/a b",
        "refs/heads/../x",
        "refs/heads/x.lock",
        "main",
    ],
)
def test_pushed_refs_must_be_git_refs(app, ref):
    answer = deliver(body=push_body(ref=ref))
    assert answer.status == 400 and "ref" in answer.body["error"]
    assert queued(app.id) == []
