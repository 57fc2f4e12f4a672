"""Receive a push: the webhooks service verifies and records the delivery; a push
to the app's branch becomes a deploy request like any other, unless it pushes the
live commit or an older one (a replayed push) and the app does not allow that."""

from __future__ import annotations

from rxpanel.actions.actor import Actor, record
from rxpanel.actions.deploys import request_deploy
from rxpanel.deploy import ancestry
from rxpanel.services import deploy_keys, hooks, releases


def receive_push(
    app_name: str, headers: dict[str, str], body: bytes, address: str = ""
) -> hooks.Answer:
    got = hooks.receive(app_name, headers, body, address)
    if isinstance(got, hooks.Answer):
        if got.refused:
            actor = Actor.webhook(got.provider, address)
            record(actor, "webhook", f"app:{app_name}", outcome="refused", detail=got.refused)
        return got
    push = got.push
    old = _old_push(got)
    if old:
        return hooks.settle(
            got.row_id, hooks.Answer(202, {"status": "ignored", "detail": old}), old
        )
    requested = request_deploy(
        got.app,
        Actor.webhook(got.provider, address),
        push.commit or None,
        by=f"{got.provider} push {push.commit[:12]}".strip(),
        note=push.ref,
    )
    dep = requested.deployment
    hooks.link(got.row_id, dep.id)
    return hooks.Answer(202, {"status": "queued", "deployment": dep.id, "commit": push.commit})


def _old_push(got: hooks.Accepted) -> str:
    """Why the pushed commit is not deployed (it is the live one or older, or that
    cannot be told), or "" to deploy it. A push without a commit deploys the
    branch head, which is never old."""
    app, commit = got.app, got.push.commit
    if app.allow_old_pushes or not commit or not app.current_release_id:
        return ""
    live = releases.get(app.current_release_id).commit
    verdict = ancestry.compare(app.name, app.source, commit, live, deploy_keys.private(app))
    if verdict.older is False:
        return ""
    allow = f"`rxpanel app update {app.name} --allow-old-pushes`"
    if verdict.older is None:
        return (
            f"not deployed: could not tell whether {commit[:12]} is older than the live "
            f"release ({verdict.detail}); deploy it with `rxpanel deploy {app.name} "
            f"--ref {commit}`, or allow old pushes with {allow}"
        )
    return (
        f"not deployed: {verdict.detail} (a replayed or out-of-order push must not roll "
        f"{app.name} back); deploy it with `rxpanel deploy {app.name} --ref {commit}`, "
        f"or allow old pushes with {allow}"
    )
