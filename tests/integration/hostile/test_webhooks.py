"""Hostile pushes to the webhook, POST /api/hooks/{app}: refused with a 4xx and a JSON
error, never a 5xx, and nothing queued; and a replayed delivery, on an app of its own,
queues nothing more than its first delivery did."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import wait_for
from tests.integration.hostile.world import (
    FINAL,
    LONG,
    REPLAY,
    SHA,
    TARGET,
    HttpCase,
    World,
    check_http,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def push_body(ref="refs/heads/main", after: object = SHA, **extra) -> bytes:
    return json.dumps({"ref": ref, "after": after, "commits": [], **extra}).encode()


def github(secret: str, body: bytes, delivery: str | None = None, event="push") -> dict:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or f"hostile-{secrets.token_hex(6)}",
        "X-Hub-Signature-256": "sha256="
        + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def big_chunks():
    for _ in range(20):  # 1.3 MB with no Content-Length
        yield b" " * 65_536


def _hook(app: str, body, headers: Callable[[World, bytes], dict] | None = None):
    def make(w: World):
        content = body() if callable(body) else body
        h = headers(w, content) if headers else github(w.secret, content)
        return "POST", f"/api/hooks/{app}", {"content": content, "headers": h}

    return make


HOOK_CASES = [
    HttpCase("malformed-json", _hook(TARGET, b'{"ref": "refs/heads/main", "after": '), 400, "JSON"),
    HttpCase(
        "json-array",
        _hook(TARGET, b'["refs/heads/main", "' + SHA.encode() + b'"]'),
        400,
        "JSON object",
    ),
    HttpCase("json-string", _hook(TARGET, b'"refs/heads/main"'), 400, "JSON object"),
    HttpCase("oversized-body", _hook(TARGET, b"{" + b" " * (1 << 20) + b"}"), 413, "too large"),
    HttpCase(
        "oversized-chunked-body",
        _hook(TARGET, big_chunks, lambda w, b: {"X-GitHub-Event": "push"}),
        413,
        "too large",
    ),
    HttpCase(
        "bad-signature",
        _hook(TARGET, push_body(), lambda w, b: github("not-the-secret-at-all", b)),
        401,
        "bad signature",
    ),
    HttpCase(
        "other-apps-secret",
        _hook(TARGET, push_body(), lambda w, b: github(w.replay_secret, b)),
        401,
        "bad signature",
    ),
    HttpCase(
        "missing-signature",
        _hook(TARGET, push_body(), lambda w, b: {"X-GitHub-Event": "push"}),
        401,
        "missing github signature",
    ),
    HttpCase(
        "no-provider-headers",
        _hook(TARGET, push_body(), lambda w, b: {"Content-Type": "application/json"}),
        401,
        "no signature",
    ),
    HttpCase(
        "gitlab-wrong-token",
        _hook(
            TARGET,
            push_body(),
            lambda w, b: {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "' OR 1=1 --"},
        ),
        401,
        "bad signature",
    ),
    HttpCase("commit-subshell", _hook(TARGET, push_body(after="$(id)")), 400, "not a git sha"),
    HttpCase(
        "commit-option",
        _hook(TARGET, push_body(after="--upload-pack=touch /tmp/pwn")),
        400,
        "not a git sha",
    ),
    HttpCase(
        "ref-with-shell-characters",
        _hook(TARGET, push_body(ref="refs/heads/main;touch /tmp/pwn")),
        400,
        "ref",
    ),
    HttpCase(
        "ref-with-control-characters",
        _hook(TARGET, push_body(ref="refs/heads/main\x1b[2J\nforged line")),
        400,
        "ref",
    ),
    HttpCase("ref-not-a-string", _hook(TARGET, push_body(ref=["refs/heads/main"])), 400, "string"),
    HttpCase(
        "delivery-id-300",
        _hook(TARGET, push_body(), lambda w, b: github(w.secret, b, delivery="d" * 300)),
        400,
        "delivery id",
    ),
    HttpCase("app-path-traversal", _hook("..%2F..%2Fetc", push_body()), 404, "no such"),
    # an unknown app is answered as a bad signature: the answer tells no names
    HttpCase("app-semicolon", _hook("x;touch%20pwn", push_body()), 401, "bad signature"),
    HttpCase("app-newline", _hook("x%0Atouch%20pwn", push_body()), 404, "", json=False),
    HttpCase("app-5000", _hook("a" * LONG, push_body()), 401, "bad signature"),
]


@pytest.mark.parametrize("case", HOOK_CASES, ids=str)
def test_webhook_refuses(world, case: HttpCase):
    check_http(world, case, "webhook")


# -- the replay, on an app of its own -------------------------------------------------


def test_a_replayed_delivery_queues_nothing_more(world):
    """Its first delivery queues one deployment (at a commit the repository does not
    have: it fails at checkout, before any server); the replay is a duplicate. A
    replayed push to another branch stays ignored."""
    hook = f"{world.panel.url}/api/hooks/{REPLAY}"
    body = push_body(after="f" * 40)
    headers = github(world.replay_secret, body, delivery="hostile-replay-1")
    first = httpx.post(hook, content=body, headers=headers, timeout=30)
    assert first.status_code == 202 and first.json()["status"] == "queued", first.text
    dep = first.json()["deployment"]
    for _ in range(2):
        again = httpx.post(hook, content=body, headers=headers, timeout=30)
        assert again.status_code == 200, again.text
        assert again.json() == {"status": "duplicate", "deployment": dep}
    other = push_body(ref="refs/heads/feature")
    other_headers = github(world.replay_secret, other, delivery="hostile-replay-2")
    for _ in range(2):
        r = httpx.post(hook, content=other, headers=other_headers, timeout=30)
        assert r.status_code == 202 and r.json()["status"] == "ignored", r.text

    def deps():
        return world.deployments_of(REPLAY)

    wait_for(lambda: all(d[1] in FINAL for d in deps()), timeout=180, what=f"deployment #{dep}")
    assert [(d[0], d[1]) for d in deps()] == [(dep, "failed")], deps()
    assert "not found" in deps()[0][2], deps()
    outcomes = [d["outcome"] for d in world.panel.cli.json("deliveries", REPLAY)]
    assert outcomes == ["ignored", "ignored", "duplicate", "duplicate", "queued"], outcomes
